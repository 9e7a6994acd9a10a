/** koa-maintenance-mode: public exports only. */

export { hashSecret } from './bypass.js';
export type { CliIo } from './cli.js';
export { main } from './cli.js';
export type { Decision, PassRule, RequestFacts } from './decide.js';
export { decide } from './decide.js';
export type { MaintenanceErrorCode } from './errors.js';
export { MaintenanceError } from './errors.js';
export { FileStateStore, STATE_KEY } from './file-store.js';
export type { ForcedMode } from './force.js';
export { forceMaintenance } from './force.js';
export type { HistoryEntry, StateSummary } from './history.js';
export { HISTORY_KEY, HISTORY_LIMIT } from './history.js';
export type { KeyvLike } from './keyv.js';
export type { StatusRecord } from './log-filter.js';
export { createMaintenanceLogFilter, requireNotMaintenanceMode503 } from './log-filter.js';
export { maintenance } from './middleware.js';
export type {
  BypassOptions,
  MaintenanceConfig,
  MaintenanceContext,
  MaintenanceOptions,
  MaintenanceResponseKind,
  MaintenanceUser,
} from './options.js';
export { BYPASS_DEFAULTS, DEFAULT_HEALTH_PATHS, DEFAULTS } from './options.js';
export type { RedisStoreOptions } from './redis-store.js';
export { createRedisStore, REDIS_DEFAULTS } from './redis-store.js';
export { createMaintenanceController, FORCE_MAINTENANCE_METADATA, ForceMaintenance } from './routing-controllers.js';
export type { MaintenanceScopeOptions } from './scope.js';
export { withMaintenanceOff, withMaintenanceOn } from './scope.js';
export type { MaintenanceServiceEvents } from './service.js';
export { getMaintenanceMode, MaintenanceService, setMaintenanceMode } from './service.js';
export type { MaintenanceServiceOptions } from './service-options.js';
export { REDIS_URL_ENV, SERVICE_DEFAULTS, STATE_FILE_ENV } from './service-options.js';
export type { DisableOptions, EnableOptions, MaintenanceState } from './state.js';
export { isActive } from './state.js';
export type { MaintenanceLogger } from './store.js';
export { maintenanceRoutes } from './toggle-routes.js';
export type { MaintenanceRoutesOptions } from './toggle-rules.js';
export { ROUTES_DEFAULTS } from './toggle-rules.js';
