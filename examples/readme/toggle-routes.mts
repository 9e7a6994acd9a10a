// The README's toggle and status routes. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
app.use(async (ctx, next) => {
  if (ctx.get('x-role') === 'admin') ctx.state.user = { username: 'ada', role: 'admin' };
  await next();
});

// #region readme
import { maintenanceRoutes } from 'koa-maintenance-mode';
app.use(maintenanceRoutes({ isSuperuser: (ctx) => ctx.state.user?.role === 'admin' }).routes());
// #endregion

const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/maintenance-mode`;
const on = await fetch(`${base}/on`, { method: 'POST', headers: { 'x-role': 'admin', accept: 'application/json' } });
assert.equal(((await on.json()) as { active: boolean }).active, true);
assert.equal((await fetch(`${base}/off`, { method: 'POST' })).status, 403);
const status = (await (await fetch(`${base}/status`, { headers: { 'x-role': 'admin' } })).json()) as object;
assert.deepEqual(Object.keys(status).sort(), [
  'active',
  'auto',
  'bypass',
  'dryRun',
  'enabled',
  'end',
  'leaseLapsed',
  'leaseUntil',
  'message',
  'readOnly',
  'scopes',
  'start',
  'updatedAt',
  'updatedBy',
  'window',
]);
server.close();
await Container.get(MaintenanceService).close();
