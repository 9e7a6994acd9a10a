// The README's scopes for a part of the site. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Router from '@koa/router';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const service = Container.get(MaintenanceService);
const app = new Koa();
const listInvoices = (ctx: { body: unknown }) => {
  ctx.body = [];
};
const inTenMinutes = new Date(Date.now() + 10 * 60_000);
const status = async (path: string) => {
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  const r = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${path}`);
  server.close();
  return r.status;
};
// #region readme
// A part of the site: give the router its own maintenance() with a fixed scope.
const billing = new Router({ prefix: '/billing' });
billing.use(maintenance({ scope: 'billing', ignoreStaff: true }));
billing.get('/invoices', listInvoices);
app.use(billing.routes());

await service.enable({ scope: 'billing', message: 'Invoices are paused for 10 minutes', end: inTenMinutes });
assert.equal(await status('/billing/invoices'), 503);   // only billing is down
await service.disable({ scope: 'billing' });
// #endregion
assert.equal(await status('/billing/invoices'), 200);
await service.close();
