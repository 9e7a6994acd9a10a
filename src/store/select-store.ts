/** Which store the options name, and the store built from that choice: the one place the service and the CLI use. */
import type { KeyvLike } from '../core/keyv-like.js';
import { createFileStore } from './file/file-store.js';
import { fromKeyv } from './keyv/from-keyv.js';
import { isMaintenanceStore, type MaintenanceStore } from './maintenance-store.js';
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

/** Builds the store of `choice` (nothing connects before its first call). */
export function openStore(choice: StoreChoice): MaintenanceStore {
  const { store, redisUrl, postgresUrl, stateFilePath } = choice;
  if (store !== undefined) return isMaintenanceStore(store) ? store : fromKeyv(store);
  if (redisUrl !== undefined) return createRedisStore(redisUrl);
  if (postgresUrl !== undefined) return createPostgresStore(postgresUrl);
  return createFileStore({ path: stateFilePath as string });
}
