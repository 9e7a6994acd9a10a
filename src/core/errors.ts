/** The one error class of the library: a stable `code` plus a message that says what, which value and the fix. */
import type { Fleet } from './presence.js';

/** Machine-readable error codes carried by {@link MaintenanceError}. */
export type MaintenanceErrorCode =
  | 'ERR_MAINTENANCE_INVALID_OPTION'
  | 'ERR_MAINTENANCE_INVALID_SCHEDULE'
  | 'ERR_MAINTENANCE_INVALID_WINDOW'
  | 'ERR_MAINTENANCE_INVALID_SCOPE'
  | 'ERR_MAINTENANCE_MODE_FORCED'
  | 'ERR_MAINTENANCE_STORE_READ'
  | 'ERR_MAINTENANCE_STORE_WRITE'
  | 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN'
  | 'ERR_MAINTENANCE_STORE_CONFLICT'
  | 'ERR_MAINTENANCE_STORE_TIMEOUT'
  | 'ERR_MAINTENANCE_STATE_CORRUPT'
  | 'ERR_MAINTENANCE_FLEET_TIMEOUT'
  | 'ERR_MAINTENANCE_NO_FLEET'
  | 'ERR_MAINTENANCE_UNKNOWN_TOKEN'
  | 'ERR_MAINTENANCE_WAIT_TIMEOUT'
  | 'ERR_MAINTENANCE_WAIT_ABORTED'
  | 'ERR_MAINTENANCE_MISUSE';

/**
 * Thrown for bad options (at startup), invalid schedules, writes refused by a forced `mode`, and store failures
 * that a caller must know about (a failed write is never silent).
 */
export class MaintenanceError extends Error {
  /** Stable identifier of the failure, e.g. `ERR_MAINTENANCE_INVALID_OPTION`. */
  readonly code: MaintenanceErrorCode;
  /** With `ERR_MAINTENANCE_FLEET_TIMEOUT`: the fleet as the wait last saw it (who is behind, and with what). */
  readonly fleet?: Fleet;
  /** When several fields are wrong at once: each with what is wrong with it (the message names the first). */
  readonly errors?: ReadonlyArray<{ readonly field: string; readonly detail: string }>;

  constructor(
    code: MaintenanceErrorCode,
    message: string,
    options?: { cause?: unknown; errors?: ReadonlyArray<{ readonly field: string; readonly detail: string }> },
  ) {
    super(message, options);
    this.name = 'MaintenanceError';
    this.code = code;
    if (options?.errors !== undefined) this.errors = options.errors;
    // routing-controllers' HttpError resets prototypes of subclasses; keep `instanceof` reliable for ours.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The HTTP status an answer gives for a refused action, by error code; any other code is the store's: 503. */
const HTTP_STATUS: Partial<Record<MaintenanceErrorCode, number>> = {
  ERR_MAINTENANCE_INVALID_OPTION: 400,
  ERR_MAINTENANCE_INVALID_SCHEDULE: 400,
  ERR_MAINTENANCE_INVALID_SCOPE: 400,
  ERR_MAINTENANCE_INVALID_WINDOW: 400,
  ERR_MAINTENANCE_MODE_FORCED: 409,
  ERR_MAINTENANCE_STORE_CONFLICT: 409,
  ERR_MAINTENANCE_FLEET_TIMEOUT: 504,
  ERR_MAINTENANCE_NO_FLEET: 501,
  ERR_MAINTENANCE_MISUSE: 500,
};

/** The HTTP status for `code`: 400 bad input, 409 a forced mode or a conflicting write, 504 a fleet that did not settle, else 503. */
export function httpStatusOf(code: MaintenanceErrorCode): number {
  return HTTP_STATUS[code] ?? 503;
}
