/**
 * Which store the options and the environment name ({@link selectStore}), and the store built from that choice
 * ({@link openStore}): the service and the CLI both use these two, so they always pick the same store.
 */
import { isAbsolute, resolve } from 'node:path';
import { isKeyvLike, type KeyvLike } from '../core/keyv-like.js';
import { shownUrl } from '../core/redact.js';
import { invalidOption } from '../core/validate.js';
import { createFileStore } from './file/file-store.js';
import { fromKeyv } from './keyv/from-keyv.js';
import { isMaintenanceStore, type MaintenanceStore, missingStoreMembers } from './maintenance-store.js';
import { createPostgresStore } from './postgres/postgres-store.js';
import { createRedisStore } from './redis/redis-store.js';

/** The store options after the choice: exactly one of them is set. */
export interface StoreChoice {
  /** A store given as such, or a keyv instance (wrapped by `fromKeyv()`). */
  readonly store?: MaintenanceStore | KeyvLike;
  /** A Redis URL (`createRedisStore(redisUrl)`). */
  readonly redisUrl?: string;
  /** A PostgreSQL URL (`createPostgresStore(postgresUrl)`). */
  readonly postgresUrl?: string;
  /** The absolute path of the embedded store's state file (`createFileStore({ path })`). */
  readonly stateFilePath?: string;
}

/** Environment variable naming the state file (shared by the service and the CLI). */
export const STATE_FILE_ENV = 'MAINTENANCE_MODE_STATE_FILE_PATH';
/** Environment variable naming a Redis URL (shared by the service and the CLI); wins over the state file variable. */
export const REDIS_URL_ENV = 'MAINTENANCE_MODE_REDIS_URL';
/** Environment variable naming a PostgreSQL URL (shared by the service and the CLI); wins over the state file variable. */
export const POSTGRES_URL_ENV = 'MAINTENANCE_MODE_POSTGRES_URL';
/** The state file when nothing names a store, in the working directory. */
export const DEFAULT_STATE_FILE = 'maintenance_mode_state.json';

/** The options that name a store, in the order a message about two of them names them. */
export const STORE_OPTION_NAMES = ['store', 'redisUrl', 'postgresUrl', 'stateFilePath'] as const;

/**
 * Picks the store: the one store option given (checked), else the environment — {@link REDIS_URL_ENV}, then
 * {@link POSTGRES_URL_ENV}, then the file of {@link STATE_FILE_ENV} — else {@link DEFAULT_STATE_FILE}; a relative state
 * file path is resolved against `cwd`. Pure (`env` and `cwd` passed in); throws `ERR_MAINTENANCE_INVALID_OPTION` naming
 * the option for a bad value or for two store options. Every key of the result is present, one of them set, so it
 * can be spread over options to replace what they name.
 */
export function selectStore(
  storeOptions: object,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): StoreChoice {
  const options = storeOptions as Readonly<Record<string, unknown>>;
  const given = STORE_OPTION_NAMES.filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    invalidOption(
      given[1],
      `cannot be combined with ${given[0]}: they name different stores. Pass one of them`,
      options[given[1]],
    );
  }
  const none = { store: undefined, redisUrl: undefined, postgresUrl: undefined, stateFilePath: undefined };
  const choice = given.length === 1 ? checked(given[0], options[given[0]]) : fromEnv(env);
  const path = choice.stateFilePath;
  return {
    ...none,
    ...choice,
    ...(path === undefined ? {} : { stateFilePath: isAbsolute(path) ? path : resolve(cwd, path) }),
  };
}

/** The one store option `name` given as `value`, checked. */
function checked(name: (typeof STORE_OPTION_NAMES)[number], value: unknown): StoreChoice {
  if (name === 'store') checkStore(value);
  if (name === 'redisUrl' && (typeof value !== 'string' || !/^rediss?:\/\//i.test(value))) {
    invalidOption('redisUrl', 'must be a redis:// or rediss:// URL', shownUrl(value));
  }
  if (name === 'postgresUrl' && (typeof value !== 'string' || !/^postgres(ql)?:\/\//i.test(value))) {
    invalidOption('postgresUrl', 'must be a postgres:// or postgresql:// URL', shownUrl(value));
  }
  if (name === 'stateFilePath' && (typeof value !== 'string' || value === '')) {
    invalidOption('stateFilePath', 'must be a file path such as "./maintenance_mode_state.json"', value);
  }
  return { [name]: value };
}

/** The store the environment names when the options name none: Redis first, then PostgreSQL, then the file. */
function fromEnv(env: Readonly<Record<string, string | undefined>>): StoreChoice {
  if (env[REDIS_URL_ENV]) return { redisUrl: env[REDIS_URL_ENV] };
  if (env[POSTGRES_URL_ENV]) return { postgresUrl: env[POSTGRES_URL_ENV] };
  const path = env[STATE_FILE_ENV] || DEFAULT_STATE_FILE;
  return { stateFilePath: path };
}

/**
 * Throws unless `store` is a `MaintenanceStore` or a keyv instance, naming the members a would-be store lacks (an
 * object with some of them is taken for a store in the making).
 */
function checkStore(store: unknown): void {
  if (isMaintenanceStore(store) || isKeyvLike(store)) return;
  const missing = missingStoreMembers(store);
  if (missing.length < missingStoreMembers(undefined).length) {
    invalidOption(
      'store',
      `is not a complete MaintenanceStore: it lacks ${missing.join(', ')}`,
      `an object with ${Object.keys(store as object).join(', ')}`,
    );
  }
  invalidOption(
    'store',
    'must be a MaintenanceStore (createFileStore({ path }), createRedisStore(url), createPostgresStore(url), ' +
      'fromKeyv(keyv)) or a keyv instance (new Keyv())',
    store,
  );
}

/** Builds the store of `choice` (nothing connects before its first call). */
export function openStore(choice: StoreChoice): MaintenanceStore {
  const { store, redisUrl, postgresUrl, stateFilePath } = choice;
  if (store !== undefined) return isMaintenanceStore(store) ? store : fromKeyv(store);
  if (redisUrl !== undefined) return createRedisStore(redisUrl);
  if (postgresUrl !== undefined) return createPostgresStore(postgresUrl);
  return createFileStore({ path: stateFilePath ?? DEFAULT_STATE_FILE });
}
