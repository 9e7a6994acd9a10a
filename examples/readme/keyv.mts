// The README's "share the state with any keyv store". Run by test/readme.test.ts.
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { Container } from 'typedi';
import { MaintenanceService } from 'koa-maintenance-mode';
// #region readme
import Keyv from 'keyv';
Container.set(MaintenanceService, new MaintenanceService({ store: new Keyv(/* any keyv adapter */), fallbackValue: false }));
// #endregion

const service = Container.get(MaintenanceService);
await service.enable();
assert.equal(await service.isEnabled(), true);
await service.close();
