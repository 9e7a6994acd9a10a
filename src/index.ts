/**
 * koa-maintenance-mode: public exports only, grouped by what a user wants. The store contract suite is a second entry,
 * `koa-maintenance-mode/testing`.
 */

// The command line run in-process, and the one error type.
export type { CliIo } from './cli/cli.js';
export { main } from './cli/cli.js';
export type { AutoRecoverEvent, AutoTripEvent } from './core/auto-trip.js';
// Self-protection: autoTrip() options and events.
export type { AutoTripMode, AutoTripOptions } from './core/auto-trip-options.js';
export { AUTO_TRIP_DEFAULTS, AUTO_TRIP_LIMITS } from './core/auto-trip-options.js';
// The middleware: maintenance(), its options, forced routes, scopes by host name, the banner, the decision.
export { hashSecret } from './core/bypass.js';
// Stores: the contract, the four stores, and the capability types a store of one's own implements.
export type { ChangeFeed, StateChange } from './core/change-feed.js';
export type { ClaimStore } from './core/claims.js';
export type { Commit, CommitOptions, Committer } from './core/commit.js';
export { revisionConflict } from './core/commit.js';
export type {
  Decision,
  DecisionConfig,
  DecisionPolicy,
  DecisionTrace,
  MaintenanceUser,
  PassRule,
  RequestFacts,
} from './core/decide.js';
export { decide } from './core/decide.js';
export type { MaintenanceErrorCode } from './core/errors.js';
export { MaintenanceError } from './core/errors.js';
// The service: the state, switching, windows, the fleet, tokens, notifications, jobs and logs.
export type { HistoryEntry, HistoryLog, StateSummary } from './core/history.js';
export { HISTORY_LIMIT } from './core/history.js';
export type { Catalog, LocalizedText } from './core/i18n.js';
export { ACCEPT_LANGUAGE_LIMITS, CATALOGS, negotiateLocale } from './core/i18n.js';
export type { KeyvLike } from './core/keyv-like.js';
export { LIVE_DEFAULTS, LIVE_RELOAD_DEFAULTS } from './core/live.js';
export type { NotifyEvent, NotifyTarget } from './core/notify.js';
export { NOTIFY_EVENTS } from './core/notify.js';
export type { Fleet, FleetInstance, PresenceRecord, PresenceStore } from './core/presence.js';
export { CLOCK_SKEW_ALLOWANCE_MS, PRESENCE_DEFAULTS } from './core/presence.js';
export type { ScopeTable } from './core/scope.js';
export { hostnameScope, isScopeName, SCOPE_NAME } from './core/scope.js';
export type { SilenceMatcher, SilenceTarget } from './core/silence-options.js';
export type { DisableOptions, EnableOptions, MaintenanceState } from './core/state.js';
export { blocksRequests, isActive, LEASE_LIMITS, MESSAGE_MAX_BYTES, MESSAGE_MAX_LENGTH } from './core/state.js';
export type { OffNote, OnNote, OnRequest } from './core/switch-on.js';
export type { TokenInfo, TokenPermission, TokenRecord, TokenRequest, TokenTable } from './core/tokens.js';
export { TOKEN_PERMISSIONS } from './core/tokens.js';
export type { UpcomingWindow } from './core/upcoming.js';
// Integrations: routing-controllers and BullMQ.
export type { PausableWorker, PauseWorkerOptions } from './integrations/bullmq.js';
export { pauseWorkerDuringMaintenance } from './integrations/bullmq.js';
export {
  createMaintenanceApiController,
  createMaintenanceController,
  FORCE_MAINTENANCE_METADATA,
  ForceMaintenance,
} from './integrations/routing-controllers.js';
// Routes and the control API: the toggle and status routes, the token-authenticated API and its bodies.
export type { FieldProblem } from './koa/api/dto.js';
export { MaintenanceOffBody, MaintenanceOnBody, WaitBody, WindowBody } from './koa/api/dto.js';
export type { MaintenanceApiOptions } from './koa/api/options.js';
export { API_DEFAULTS } from './koa/api/options.js';
export { maintenanceApi } from './koa/api/routes.js';
export type { BannerState } from './koa/banner.js';
export { maintenanceBanner } from './koa/banner.js';
export type { MaintenanceContextState } from './koa/context-state.js';
export type { ForcedMode } from './koa/force.js';
export { forceMaintenance } from './koa/force.js';
export type { HostnameScopeOptions } from './koa/host-scope.js';
export { scopeByHostname } from './koa/host-scope.js';
export type { LiveBanner, LivePage } from './koa/live-link.js';
export { maintenance } from './koa/middleware.js';
export type {
  BypassOptions,
  HoldOptions,
  LiveReloadOptions,
  MaintenanceConfig,
  MaintenanceContext,
  MaintenanceOptions,
  MaintenanceResponseKind,
  PresenceOptions,
} from './koa/options.js';
export { BYPASS_DEFAULTS, DEFAULT_HEALTH_PATHS, DEFAULTS, HOLD_DEFAULTS } from './koa/options.js';
export { maintenanceRoutes } from './koa/toggle-routes.js';
export type { LiveOptions, MaintenanceRoutesOptions } from './koa/toggle-rules.js';
export { ROUTES_DEFAULTS } from './koa/toggle-rules.js';
export type { GuardOptions, GuardResult, WaitUntilOffOptions } from './service/job-gate.js';
export type { MaintenanceScopeOptions } from './service/jobs.js';
export { withMaintenanceOff, withMaintenanceOn } from './service/jobs.js';
export type { StatusRecord } from './service/log-filter.js';
export { createMaintenanceLogFilter, requireNotMaintenanceMode503 } from './service/log-filter.js';
export type { NotifyFailure } from './service/notify-delivery.js';
export { NOTIFY_RETRY_DELAYS_MS } from './service/notify-delivery.js';
export type { MaintenanceServiceEvents, WaitForFleetOptions } from './service/service.js';
export { FLEET_WAIT_DEFAULTS, getMaintenanceMode, MaintenanceService, setMaintenanceMode } from './service/service.js';
export type { MaintenanceServiceOptions } from './service/service-options.js';
export { SERVICE_DEFAULTS } from './service/service-options.js';
export type { SwitchActor, SwitchOnRequest, SwitchOutcome } from './service/switching.js';
export type { CreatedToken } from './service/token-vault.js';
export type { WithUrl } from './store/factory-args.js';
export type { FileStoreOptions } from './store/file/file-store.js';
export { createFileStore } from './store/file/file-store.js';
export { fromKeyv } from './store/keyv/from-keyv.js';
export type { KeyvBackedStore, MaintenanceStore } from './store/maintenance-store.js';
export type { PostgresStoreOptions } from './store/postgres/postgres-store.js';
export { createPostgresStore, POSTGRES_DEFAULTS } from './store/postgres/postgres-store.js';
export type { RedisStoreOptions } from './store/redis/redis-store.js';
export { createRedisStore, REDIS_DEFAULTS } from './store/redis/redis-store.js';
export { POSTGRES_URL_ENV, REDIS_URL_ENV, STATE_FILE_ENV } from './store/select-store.js';
export type { MaintenanceLogger } from './store/state-store.js';
