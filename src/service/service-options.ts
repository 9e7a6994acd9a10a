/** Options of `MaintenanceService`: the public type, defaults, and the pure resolver (env and cwd passed in). */
import type { KeyvLike } from '../core/keyv-like.js';
import { type NotifyConfig, type NotifyTarget, resolveNotify } from '../core/notify.js';
import { resolveSilences, type SilenceConfig, type SilenceTarget } from '../core/silence-options.js';
import { invalidOption, knownEntries, type NamesEveryKey } from '../core/validate.js';
import type { MaintenanceStore } from '../store/maintenance-store.js';
import { DEFAULT_STATE_FILE, type StoreChoice, selectStore } from '../store/select-store.js';
import type { MaintenanceLogger } from '../store/state-store.js';

/** Options for `new MaintenanceService(options)`. Every field is optional. */
export interface MaintenanceServiceOptions {
  /**
   * Where the state lives: a `MaintenanceStore` (`createFileStore()`, `createRedisStore()`, `createPostgresStore()`,
   * `fromKeyv()`, your own) or any keyv instance (in-memory, over any keyv adapter), which `fromKeyv()` wraps.
   * @default the embedded file store at `stateFilePath`
   */
  readonly store?: MaintenanceStore | KeyvLike;
  /** Redis URL: the state lives in Redis (`createRedisStore(redisUrl)`), shared by every instance. @default env MAINTENANCE_MODE_REDIS_URL */
  readonly redisUrl?: string;
  /** PostgreSQL URL: the state lives in PostgreSQL (`createPostgresStore(postgresUrl)`), shared by every instance. @default env MAINTENANCE_MODE_POSTGRES_URL */
  readonly postgresUrl?: string;
  /** State file of the embedded store. @default env MAINTENANCE_MODE_STATE_FILE_PATH, else ./maintenance_mode_state.json */
  readonly stateFilePath?: string;
  /** Forces the state (django's MAINTENANCE_MODE); `enable()`/`disable()` then throw. @default undefined (use the store) */
  readonly mode?: boolean;
  /** State assumed while the store fails, times out or holds a corrupt state. @default false */
  readonly fallbackValue?: boolean;
  /**
   * How long a state read from the store is used before reading again, in milliseconds; changes pushed by the
   * store (Redis pub/sub, file watch) and this service's own writes apply at once. 0 reads on every call. @default 1000
   */
  readonly cacheTtlMs?: number;
  /** Upper bound of every store call, in milliseconds. @default 500 */
  readonly storeTimeoutMs?: number;
  /** Receives the store warnings (one per outage). @default console */
  readonly logger?: MaintenanceLogger;
  /**
   * Webhooks told of `enabled`, `disabled`, `scheduled` and `reminder` events, each once per fleet: a change by the
   * instance that writes it, reminders and windows that start or end by the serving instance that claims the event
   * in the store. Signed with `secret`, retried with backoff, never delaying a switch. @default [] (none)
   */
  readonly notify?: readonly NotifyTarget[];
  /**
   * Alertmanager silences made while maintenance is active for each one's `scope` (a switch, a scheduled start, a
   * recurring window's occurrence, a lease; never a dry run), ending with it: at the state's end, or for an open end an
   * hour ahead, extended while it lasts; expired when it ends. One serving instance of the fleet acts on each change
   * (a claim in the store); the silence ids are named in the history. Failures are retried with backoff and logged
   * once, never delaying a switch. Matchers that would silence every alert are refused. @default [] (none)
   */
  readonly silence?: readonly SilenceTarget[];
}

/** Default values of {@link MaintenanceServiceOptions}. */
export const SERVICE_DEFAULTS = Object.freeze({
  stateFileName: DEFAULT_STATE_FILE,
  fallbackValue: false,
  storeTimeoutMs: 500,
  cacheTtlMs: 1000,
});

/**
 * {@link MaintenanceServiceOptions} after validation. Exactly one of `store`, `redisUrl`, `postgresUrl` and
 * `stateFilePath` is set: the store `selectStore()` picked (`stateFilePath` when the embedded store is used).
 */
export interface MaintenanceServiceConfig extends StoreChoice {
  readonly mode?: boolean;
  readonly fallbackValue: boolean;
  readonly storeTimeoutMs: number;
  readonly cacheTtlMs: number;
  readonly logger: MaintenanceLogger;
  readonly notify: readonly NotifyConfig[];
  readonly silence: readonly SilenceConfig[];
}

/** The names of every `MaintenanceService` option (the README's table lists exactly these). */
export const SERVICE_OPTION_NAMES = [
  'store',
  'redisUrl',
  'postgresUrl',
  'stateFilePath',
  'mode',
  'fallbackValue',
  'storeTimeoutMs',
  'cacheTtlMs',
  'logger',
  'notify',
  'silence',
] as const satisfies readonly (keyof MaintenanceServiceOptions)[];
/** Compiles only while {@link SERVICE_OPTION_NAMES} names every option of {@link MaintenanceServiceOptions}. */
const everyOptionListed: NamesEveryKey<MaintenanceServiceOptions, typeof SERVICE_OPTION_NAMES> = true;
void everyOptionListed;

/** Validates service options; `env` and `cwd` are passed in so this stays pure. */
export function resolveServiceOptions(
  input: MaintenanceServiceOptions | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  defaultLogger: MaintenanceLogger,
): MaintenanceServiceConfig {
  const raw = input ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    invalidOption('MaintenanceService options', 'must be an object', raw);
  }
  const o = knownEntries(raw, SERVICE_OPTION_NAMES, 'MaintenanceService');
  const store = selectStore(o, env, cwd); // the store options and the environment
  if ('mode' in o && typeof o.mode !== 'boolean') invalidOption('mode', 'must be true, false or undefined', o.mode);
  const { timeout, ttl } = checkedReadPolicy(o);
  const logger = (o.logger ?? defaultLogger) as MaintenanceLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    invalidOption('logger', 'must have a warn(message) method (console, pino and winston loggers do)', o.logger);
  }
  return Object.freeze({
    ...store,
    mode: o.mode as boolean | undefined,
    fallbackValue: (o.fallbackValue as boolean | undefined) ?? SERVICE_DEFAULTS.fallbackValue,
    storeTimeoutMs: timeout as number,
    cacheTtlMs: ttl as number,
    logger,
    notify: resolveNotify(o.notify),
    silence: resolveSilences(o.silence),
  });
}

/**
 * Checks how reads behave (`fallbackValue`, `storeTimeoutMs`, `cacheTtlMs`); returns the store timeout and the cache
 * TTL, defaults applied.
 */
function checkedReadPolicy(o: Readonly<Record<string, unknown>>): { timeout: number; ttl: number } {
  if ('fallbackValue' in o && typeof o.fallbackValue !== 'boolean') {
    invalidOption('fallbackValue', 'must be true or false', o.fallbackValue);
  }
  const timeout = o.storeTimeoutMs ?? SERVICE_DEFAULTS.storeTimeoutMs;
  if (!Number.isInteger(timeout) || (timeout as number) < 1 || (timeout as number) > 60_000) {
    invalidOption('storeTimeoutMs', 'must be a whole number of milliseconds between 1 and 60000', timeout);
  }
  const ttl = o.cacheTtlMs ?? SERVICE_DEFAULTS.cacheTtlMs;
  if (!Number.isInteger(ttl) || (ttl as number) < 0 || (ttl as number) > 3_600_000) {
    invalidOption('cacheTtlMs', 'must be a whole number of milliseconds between 0 (no cache) and 3600000', ttl);
  }
  return { timeout: timeout as number, ttl: ttl as number };
}
