/**
 * The store contract suite (koa-maintenance-mode/testing) against each store of this package. Adding a store is one
 * line here (its factory in test/helpers/stores.ts).
 */
import { describeMaintenanceStore } from '../src/testing.js';
import { fileStoreFactory, memoryKeyvFactory, postgresFactory, redisFactory } from './helpers/stores.js';

describeMaintenanceStore('the embedded file store', fileStoreFactory());
describeMaintenanceStore('Redis', redisFactory());
describeMaintenanceStore('PostgreSQL', postgresFactory());
describeMaintenanceStore('an in-memory Keyv', memoryKeyvFactory());
