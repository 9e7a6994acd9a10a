/**
 * koa-maintenance-mode/testing: the store contract suite, for any store (`describeMaintenanceStore`). Public exports
 * only; loads nothing of a test runner.
 */

export { describeMaintenanceStore } from './testing/describe.js';
export type {
  ContractNeed,
  ContractStore,
  MaintenanceStoreCapabilities,
  MaintenanceStoreFactory,
  MaintenanceStoreFaults,
} from './testing/factory.js';
export type { RunnerHook, RunnerTest, TestRunnerApi } from './testing/runner.js';
