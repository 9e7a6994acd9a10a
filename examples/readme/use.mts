// The README's "Use": a complete app. Run by test/readme.test.ts (PORT=0, in an empty directory).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Container } from 'typedi';
// #region readme
import 'reflect-metadata';
import Koa from 'koa';
import Router from '@koa/router';
import { forceMaintenance, maintenance, MaintenanceService } from 'koa-maintenance-mode';

const app = new Koa();
const router = new Router();
router.get('/healthz', forceMaintenance('off'), (ctx) => { ctx.body = 'ok'; });
router.get('/', (ctx) => { ctx.body = 'Hello'; });

app.use(maintenance({
  ignoreStaff: true,                          // ctx.state.user.isStaff passes
  ignoreIpAddresses: ['10.0.0.0/8', '2001:db8::/32'],
  ignoreUrls: ['/static'],                    // /static and /static/…, not /staticky
  responseType: 'auto',                       // HTML for browsers, JSON for API clients
}));
app.use(router.routes());                     // mount maintenance() before the routers
const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion

await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
assert.equal(await (await fetch(`${base}/`)).text(), 'Hello');
const service = Container.get(MaintenanceService);
await service.enable({ message: 'Testing the README' });
const blocked = await fetch(`${base}/`, { headers: { accept: 'application/json' } });
assert.equal(blocked.status, 503);
assert.equal(((await blocked.json()) as { message: string }).message, 'Testing the README');
assert.equal((await fetch(`${base}/healthz`)).status, 200);
server.close();
await service.close();
