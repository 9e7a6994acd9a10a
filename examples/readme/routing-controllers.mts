// The README's routing-controllers and TypeDI app: complete. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
// #region readme
import 'reflect-metadata';
import Koa from 'koa';
import Keyv from 'keyv';
import { useContainer, useKoaServer, JsonController, Get } from 'routing-controllers';
import { Container, Service } from 'typedi';
import { ForceMaintenance, MaintenanceService, maintenance, createMaintenanceController } from 'koa-maintenance-mode';

@Service()
@JsonController('/ops')
@ForceMaintenance('off')                     // every action of the class is served during maintenance…
class OpsController {
  constructor(private readonly maintenance: MaintenanceService) {}   // injected by TypeDI
  @Get('/health') async health() { return { ok: true, maintenance: await this.maintenance.isEnabled() }; }
  @Get('/deploy') @ForceMaintenance('on')    // …except this one: a method decorator overrides its class
  deploy() { return 'never runs: always the maintenance answer'; }
}

const app = new Koa();
useContainer(Container);
Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));   // optional: a shared store
app.use(maintenance());                                                             // before useKoaServer
useKoaServer(app, { routePrefix: '/api', controllers: [OpsController, createMaintenanceController()] });
// #endregion

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
await Container.get(MaintenanceService).enable();
assert.deepEqual(await (await fetch(`${base}/ops/health`)).json(), { ok: true, maintenance: true });
assert.equal((await fetch(`${base}/ops/deploy`)).status, 503);
assert.equal((await fetch(`${base}/maintenance-mode/status`)).status, 403); // the controller: superusers only
server.close();
await Container.get(MaintenanceService).close();
