// The README's Redis setup. Run by test/readme.test.ts (the store connects on first use; none happens here).
import assert from 'node:assert/strict';
import 'reflect-metadata';
// #region readme
import { Container } from 'typedi';
import { createRedisStore, MaintenanceService } from 'koa-maintenance-mode';
Container.set(MaintenanceService, new MaintenanceService({ store: createRedisStore('redis://10.0.0.5:6379') }));
// or: new MaintenanceService({ redisUrl: '…' }), or set MAINTENANCE_MODE_REDIS_URL and change nothing
// #endregion

assert.equal(Container.get(MaintenanceService).storeDescription, 'Redis at redis://10.0.0.5:6379');
await Container.get(MaintenanceService).close();
