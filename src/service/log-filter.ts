/** Logging filters that drop maintenance 503 records (synchronous: they use the last state the service knew). */

import { isActive } from '../core/state.js';
import { defaultService, type MaintenanceService } from './service.js';

/** The shapes of log records the filter understands (pino-http, winston, Koa errors, plain objects). */
export interface StatusRecord {
  readonly status?: number;
  readonly statusCode?: number;
  readonly res?: { readonly statusCode?: number };
}

function statusOf(record: unknown): number | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const r = record as StatusRecord;
  return r.status ?? r.statusCode ?? r.res?.statusCode;
}

/**
 * A filter bound to `service`: `false` (drop) for a 503 record while maintenance is on, `true` (keep) otherwise.
 * @example const keep = createMaintenanceLogFilter(service); if (keep(record)) log(record);
 */
export function createMaintenanceLogFilter(service: MaintenanceService): (record: unknown) => boolean {
  return (record) => statusOf(record) !== 503 || !isActive(service.lastKnownState(), new Date());
}

/**
 * django's `require_not_maintenance_mode_503`: `false` for a 503 record while maintenance is on, using the last
 * state known to `Container.get(MaintenanceService)` (no I/O, so it can run inside any logger).
 */
export function requireNotMaintenanceMode503(record: StatusRecord | unknown): boolean {
  return createMaintenanceLogFilter(defaultService())(record);
}
