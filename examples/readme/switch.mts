// The README's "Switch it from code". Run by test/readme.test.ts in an empty directory.
import assert from 'node:assert/strict';
import 'reflect-metadata';
// #region readme
import { Container } from 'typedi';
import { MaintenanceService, getMaintenanceMode, setMaintenanceMode } from 'koa-maintenance-mode';

const service = Container.get(MaintenanceService);       // no setup needed: ./maintenance_mode_state.json
const inOneHour = new Date(Date.now() + 60 * 60_000);
await service.enable({ message: 'Back within the hour', end: inOneHour, by: 'deploy-bot' });
const tonight = new Date(Date.now() + 12 * 3600_000);     // a scheduled window [start, end)
await service.enable({ start: tonight, end: new Date(tonight.getTime() + 3600_000) });
await service.disable({ by: 'deploy-bot' });
await setMaintenanceMode(true); await getMaintenanceMode();   // django-style helpers
// #endregion

assert.equal(await getMaintenanceMode(), true);
assert.equal((await service.history(10)).length, 4);
await service.close();
