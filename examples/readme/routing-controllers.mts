// The README's routing-controllers and TypeDI app: complete. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
// #region readme
import 'reflect-metadata';
import Koa from 'koa';
import Keyv from 'keyv';
import { useContainer, useKoaServer, JsonController, Get } from 'routing-controllers';
import { Container, Service } from 'typedi';
import { ForceMaintenance, MaintenanceService, maintenance, createMaintenanceController } from 'koa-maintenance-mode';

@JsonController('/shop')
class ShopController {                       // no @Service(): routing-controllers builds it, as without the library
  @Get('/items') items() { return [{ id: 1 }]; }
}

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
useContainer(Container, { fallbackOnErrors: true });   // for OpsController's injection; the library needs none
Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));   // optional: a shared store
app.use(maintenance({ responseType: 'auto' }));   // before useKoaServer; JSON for API clients, a page for browsers
useKoaServer(app, { routePrefix: '/api', controllers: [ShopController, OpsController, createMaintenanceController()] });
// #endregion

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
assert.deepEqual(await (await fetch(`${base}/shop/items`)).json(), [{ id: 1 }]); // a controller without @Service()
await Container.get(MaintenanceService).enable();
assert.deepEqual(await (await fetch(`${base}/ops/health`)).json(), { ok: true, maintenance: true });
const axios = { headers: { Accept: 'application/json, text/plain, */*' } }; // what a JSON API client sends
for (const path of ['/shop/items', '/ops/deploy']) {
  const r = await fetch(`${base}${path}`, axios);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(((await r.json()) as { maintenance: boolean }).maintenance, true);
}
assert.match(await (await fetch(`${base}/ops/deploy`, { headers: { Accept: 'text/html' } })).text(), /<!doctype html>/i);
assert.equal((await fetch(`${base}/maintenance-mode/status`)).status, 403); // the controller: superusers only
server.close();
await Container.get(MaintenanceService).close();
