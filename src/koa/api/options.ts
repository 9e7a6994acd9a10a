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
  /** Recorded as `updatedBy` for a session (a token is recorded as `token:<label>`). @default the user's username, id or email */
  readonly getUpdatedBy?: (ctx: MaintenanceContext) => string | undefined;
  /** Largest JSON body read, in bytes; a larger one gets 413. @default 16384 */
  readonly bodyLimitBytes?: number;
}

/** Default values of {@link MaintenanceApiOptions}. */
export const API_DEFAULTS = Object.freeze({ prefix: '/maintenance-mode/api', bodyLimitBytes: 16_384 });

/** The names of every option (the README's table lists exactly these). */
export const API_OPTION_NAMES = ['prefix', 'service', 'isSuperuser', 'getUpdatedBy', 'bodyLimitBytes'] as const;

/** {@link MaintenanceApiOptions} after validation. */
export interface MaintenanceApiConfig {
  readonly prefix: string;
  readonly service?: MaintenanceService;
  readonly isSuperuser?: MaintenanceApiOptions['isSuperuser'];
  readonly getUpdatedBy?: MaintenanceApiOptions['getUpdatedBy'];
  readonly bodyLimitBytes: number;
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
  });
}
