// The README's fleet: a deploy script waits for every instance. Run by test/readme.test.ts in an empty directory
// (the default file store), with one app instance of this process in the fleet.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import Koa from 'koa';
import { maintenance } from 'koa-maintenance-mode';

const instance = new Koa();
instance.use(maintenance({ presence: { intervalMs: 1000 } }));
const server = instance.listen(0);
await new Promise((r) => server.once('listening', r));
await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`); // its first request: it joins
await new Promise((r) => setTimeout(r, 200));
const migrate = async () => undefined;
// #region readme
import { MaintenanceService } from 'koa-maintenance-mode';

const service = new MaintenanceService();    // the app's store: the same file, Redis or PostgreSQL (env or options)
await service.enable({ message: 'Migrating the database', leaseMs: 60_000 });
const fleet = await service.waitForFleet({ timeoutMs: 30_000 });   // every live instance applied it, none runs a request
console.log(`${fleet.instances.length} instance(s) confirmed revision ${fleet.revision}`);
await migrate();
await service.disable();
// #endregion

assert.equal(fleet.instances.length, 1);
server.close();
await service.close();
const { Container } = await import('typedi');
await Container.get(MaintenanceService).close();
