/** Logging filters that drop maintenance 503 records (synchronous: they use the last state the service knew). */
import { RESPONSE_SCOPE } from '../core/scope.js';
import { isActive } from '../core/state.js';
import { defaultService, type MaintenanceService } from './service.js';

/** The shapes of log records the filter understands (pino-http, winston, Koa errors, plain objects). */
export interface StatusRecord {
  readonly status?: number;
  readonly statusCode?: number;
  readonly res?: { readonly statusCode?: number };
  /** The request's scope, when the record names it (a response decided by a scope carries it too). */
  readonly scope?: string;
}

function statusOf(r: StatusRecord): number | undefined {
  return r.status ?? r.statusCode ?? r.res?.statusCode;
}

/** The scope a log record names: its `scope`, or the one `maintenance()` marked on its response. */
function recordScope(r: StatusRecord): string | undefined {
  if (typeof r.scope === 'string') return r.scope;
  const marked = (r.res as { [RESPONSE_SCOPE]?: unknown } | undefined)?.[RESPONSE_SCOPE];
  return typeof marked === 'string' ? marked : undefined;
}

/**
 * A filter bound to `service`: `false` (drop) for a 503 record while maintenance is on for it — the global state, or
 * the state of the record's scope (`record.scope`, or the scope `maintenance()` marked on `record.res`) — and
 * `true` (keep) otherwise.
 * @example const keep = createMaintenanceLogFilter(service); if (keep(record)) log(record);
 */
export function createMaintenanceLogFilter(service: MaintenanceService): (record: unknown) => boolean {
  return (record) => {
    if (typeof record !== 'object' || record === null) return true;
    const r = record as StatusRecord;
    if (statusOf(r) !== 503) return true;
    const now = new Date();
    if (isActive(service.lastKnownState(), now)) return false;
    const scope = recordScope(r);
    return scope === undefined || !isActive(service.lastKnownState(scope), now);
  };
}

/**
 * django's `require_not_maintenance_mode_503`: `false` for a 503 record while maintenance is on, using the last
 * state known to `Container.get(MaintenanceService)` (no I/O, so it can run inside any logger).
 */
export function requireNotMaintenanceMode503(record: StatusRecord | unknown): boolean {
  return createMaintenanceLogFilter(defaultService())(record);
}
