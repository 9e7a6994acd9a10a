// The README's hold and release. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, withMaintenanceOn } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
app.use(async (ctx, next) => {
  await next(); // the order handler, after maintenance() (the app's own routes in a real app)
  if (ctx.status === 404) ctx.body = `placed, ${ctx.state.maintenanceDecision?.rule}`;
});
let server: Server | undefined;
let order: Promise<Response> | undefined;
/** Stands in for the failover: the app is up, and a customer places an order meanwhile. */
const failOverDatabase = async () => {
  server = app.listen(0);
  await new Promise((r) => server?.once('listening', r));
  order = fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/order`);
  await new Promise((r) => setTimeout(r, 300));
};
// #region readme
app.use(maintenance({ hold: { maxMs: 5000, releaseSpreadMs: 1000 } }));   // back to the app over 1 s, in order
await withMaintenanceOn(() => failOverDatabase());   // requests meanwhile wait, then complete
// #endregion

const answer = await (order as Promise<Response>);
assert.equal(answer.status, 200); // it waited during the failover, and completed once maintenance ended
assert.equal(await answer.text(), 'placed, released');
server?.close();
await Container.get(MaintenanceService).close();
