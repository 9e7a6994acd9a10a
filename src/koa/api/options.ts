/** Options of `maintenanceApi()` and `createMaintenanceApiController()`: the public type, defaults and the resolver. Pure. */
import { invalidOption, knownEntries } from '../../core/validate.js';
import type { MaintenanceService } from '../../service/service.js';
import type { MaintenanceContext } from '../options.js';
import { checkRouteOptions } from '../toggle-rules.js';

/** Options of the control API. */
export interface MaintenanceApiOptions {
  /** Path prefix of the API. @default '/maintenance-mode/api' */
  readonly prefix?: string;
  /** The service to switch. @default Container.get(MaintenanceService), resolved per request */
  readonly service?: MaintenanceService;
  /**
   * Who may use the API without a token, with their session (cross-site requests are refused, as on the toggle
   * routes). @default (ctx) => ctx.state.user?.isSuperuser === true
   */
  readonly isSuperuser?: (ctx: MaintenanceContext) => boolean | Promise<boolean>;
  /**
   * Recorded as `updatedBy` for a session (a token is recorded as `token:<label>`).
   * @default the user's `username`, `name` or `email`, else `user:<id>`
   */
  readonly getUpdatedBy?: (ctx: MaintenanceContext) => string | undefined;
  /** Largest JSON body read, in bytes; a larger one gets 413. @default 16384 */
  readonly bodyLimitBytes?: number;
  /**
   * Waits (`POST /wait`) one token — or one signed-in user — may hold open at once (1–1000); one more gets 429 with
   * `Retry-After`. @default 4
   */
  readonly maxWaitsPerToken?: number;
  /** Waits this API holds open at once, all callers together (1–10000); one more gets 429 with `Retry-After`. @default 64 */
  readonly maxWaits?: number;
}

/** Default values of {@link MaintenanceApiOptions}. */
export const API_DEFAULTS = Object.freeze({
  prefix: '/maintenance-mode/api',
  bodyLimitBytes: 16_384,
  maxWaitsPerToken: 4,
  maxWaits: 64,
});

/** The names of every option (the README's table lists exactly these). */
export const API_OPTION_NAMES = [
  'prefix',
  'service',
  'isSuperuser',
  'getUpdatedBy',
  'bodyLimitBytes',
  'maxWaitsPerToken',
  'maxWaits',
] as const;

/** {@link MaintenanceApiOptions} after validation. */
export interface MaintenanceApiConfig {
  readonly prefix: string;
  readonly service?: MaintenanceService;
  readonly isSuperuser?: MaintenanceApiOptions['isSuperuser'];
  readonly getUpdatedBy?: MaintenanceApiOptions['getUpdatedBy'];
  readonly bodyLimitBytes: number;
  readonly maxWaitsPerToken: number;
  readonly maxWaits: number;
}

/** Validates the API's options (fail fast, with the fix). */
export function resolveApiOptions(input: MaintenanceApiOptions = {}): MaintenanceApiConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption('maintenanceApi(options)', 'takes an options object', input);
  }
  const o = knownEntries(input, API_OPTION_NAMES, 'maintenanceApi()');
  const prefix = checkRouteOptions(o, API_DEFAULTS.prefix);
  const limit = o.bodyLimitBytes ?? API_DEFAULTS.bodyLimitBytes;
  if (!Number.isInteger(limit) || (limit as number) < 256 || (limit as number) > 1_048_576) {
    invalidOption('bodyLimitBytes', 'must be a whole number of bytes from 256 to 1048576', limit);
  }
  return Object.freeze({
    prefix,
    service: o.service as MaintenanceService | undefined,
    isSuperuser: o.isSuperuser as MaintenanceApiConfig['isSuperuser'],
    getUpdatedBy: o.getUpdatedBy as MaintenanceApiConfig['getUpdatedBy'],
    bodyLimitBytes: limit as number,
    ...resolveWaitLimits(o),
  });
}

/** `maxWaitsPerToken` and `maxWaits`, each a whole number in its bounds, the first not above the second. */
function resolveWaitLimits(o: Record<string, unknown>): { maxWaitsPerToken: number; maxWaits: number } {
  const maxWaits = (o.maxWaits ?? API_DEFAULTS.maxWaits) as number;
  if (!Number.isInteger(maxWaits) || maxWaits < 1 || maxWaits > 10_000) {
    invalidOption('maxWaits', 'must be a whole number from 1 to 10000', maxWaits);
  }
  const perToken = (o.maxWaitsPerToken ?? API_DEFAULTS.maxWaitsPerToken) as number;
  if (!Number.isInteger(perToken) || perToken < 1 || perToken > 1000) {
    invalidOption('maxWaitsPerToken', 'must be a whole number from 1 to 1000', perToken);
  }
  if (perToken > maxWaits) invalidOption('maxWaitsPerToken', `must not exceed maxWaits (${maxWaits})`, perToken);
  return { maxWaitsPerToken: perToken, maxWaits };
}
