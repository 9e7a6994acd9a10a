// The README's per-tenant scopes. Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, withMaintenanceOn } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
const resolveTenant: Koa.Middleware = async (ctx, next) => {
  ctx.state.tenant = { id: Number(ctx.get('x-tenant')) };
  await next();
};
const answers: number[] = [];
const migrateTenant = async (id: number) => {
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  for (const tenant of [id, 7]) {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    answers.push((await fetch(url, { headers: { 'x-tenant': String(tenant) } })).status);
  }
  server.close();
};
// #region readme
// A multi-tenant app: one middleware, the tenant from the request (sync or async).
app.use(resolveTenant);                                    // sets ctx.state.tenant = { id: 42, … }
app.use(maintenance({ scope: (ctx) => (ctx.state.tenant ? `tenant:${ctx.state.tenant.id}` : undefined) }));

await withMaintenanceOn(() => migrateTenant(42), { scope: 'tenant:42' });   // tenant 42 only, for the migration
// #endregion
assert.deepEqual(answers, [503, 404]); // tenant 42 in maintenance during its migration, tenant 7 served
await Container.get(MaintenanceService).close();
