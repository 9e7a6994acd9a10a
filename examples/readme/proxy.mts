// The README's "Behind a proxy or load balancer". Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance } from 'koa-maintenance-mode';
import { Container } from 'typedi';

Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv() }));
const app = new Koa();
const warnings: string[] = [];
console.warn = (m: string) => void warnings.push(m);
// #region readme
app.proxy = true;       // trust X-Forwarded-For …
app.maxIpsCount = 1;    // … but only the entry our one load balancer appended: ctx.ip is the address it saw
app.use(maintenance({ ignoreIpAddresses: ['10.0.0.0/8'] }));
// #endregion
app.use((ctx) => {
  ctx.body = 'shop';
});

await Container.get(MaintenanceService).enable();
const at = async (xff: string) => (await fetch(`${base}/`, { headers: { 'x-forwarded-for': xff } })).status;
const server = app.listen(0);
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
assert.equal(await at('10.1.1.1'), 200); // the load balancer saw an office address
assert.equal(await at('10.1.1.1, 8.8.8.8'), 503); // the client wrote 10.1.1.1 itself
assert.deepEqual(warnings, []); // maxIpsCount is set: no warning
server.close();
await Container.get(MaintenanceService).close();
