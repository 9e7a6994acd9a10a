// The README's PostgreSQL setup. Run by test/readme.test.ts (the store connects on first use; none happens here).
import assert from 'node:assert/strict';
import 'reflect-metadata';
// #region readme
import { Container } from 'typedi';
import { createPostgresStore, MaintenanceService } from 'koa-maintenance-mode';   // npm install @keyv/postgres pg
Container.set(MaintenanceService, new MaintenanceService({ store: createPostgresStore('postgres://app@10.0.0.6/app') }));
// or: new MaintenanceService({ postgresUrl: '…' }), or MAINTENANCE_MODE_POSTGRES_URL, or { "postgresUrl": … } in the CLI config
// #endregion

assert.equal(Container.get(MaintenanceService).storeDescription, 'PostgreSQL at postgres://app@10.0.0.6/app');
await Container.get(MaintenanceService).close();
