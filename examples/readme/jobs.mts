// The README's job helpers. Run by test/readme.test.ts in an empty directory (the default file store).
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { MaintenanceService } from 'koa-maintenance-mode';
import { Container } from 'typedi';

const service = Container.get(MaintenanceService);
const seen: boolean[] = [];
const runMigrations = async () => void seen.push(await service.isEnabled());
const warmCaches = async () => void seen.push(await service.isEnabled());
const migrateTenant = async (_id: number) => void seen.push(await service.isEnabled('tenant:42'));

// #region readme
import { withMaintenanceOn, withMaintenanceOff } from 'koa-maintenance-mode';
await withMaintenanceOn(() => runMigrations());            // every instance shows the page meanwhile
await withMaintenanceOff(() => warmCaches(), { service, by: 'nightly' });
await withMaintenanceOn(() => migrateTenant(42), { scope: 'tenant:42' });   // one scope only
// #endregion

assert.deepEqual(seen, [true, false, true]);
assert.equal(await service.isEnabled(), false); // put back as it was
await service.close();
