// The README's "Forced routes". Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Router from '@koa/router';
import Keyv from 'keyv';
import Koa from 'koa';
import { forceMaintenance, MaintenanceService, maintenance } from 'koa-maintenance-mode';

const service = new MaintenanceService({ store: new Keyv() });
const app = new Koa();
app.use(maintenance({ service }));
const router = new Router();
const handler = (ctx: { body: unknown }) => {
  ctx.body = 'served';
};
// #region readme
router.get('/healthz', forceMaintenance('off'), handler);  // served during maintenance
router.get('/legacy', forceMaintenance('on'), handler);    // always the maintenance answer
router.use(forceMaintenance('off'));                       // a whole router; a route's own tag overrides it
// #endregion
router.get('/other', handler);
app.use(router.routes());

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const get = async (path: string) =>
  (await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${path}`)).status;
assert.equal(await get('/legacy'), 503);
await service.enable();
assert.equal(await get('/healthz'), 200);
assert.equal(await get('/other'), 200);
server.close();
await service.close();
