/**
 * The store contract: everything the service keeps in a store, as one typed interface. Each store is one folder
 * (`file/`, `redis/`, `postgres/`, `keyv/`) whose factory returns a {@link MaintenanceStore}.
 */
import type { ChangeFeed } from '../core/change-feed.js';
import type { ClaimStore } from '../core/claims.js';
import type { Commit, CommitOptions } from '../core/commit.js';
import type { HistoryLog } from '../core/history.js';
import type { KeyvLike } from '../core/keyv-like.js';
import type { PresenceStore } from '../core/presence.js';
import type { ScopeTable } from '../core/scope.js';
import type { TokenTable } from '../core/tokens.js';

/**
 * Where `MaintenanceService` keeps the state and everything beside it: the global state, the scoped states, the
 * history, the revision counter, the fleet's presence records, the API tokens and the notification claims, and the
 * push that tells every instance of a change. `createFileStore()`, `createRedisStore()`, `createPostgresStore()` and
 * `fromKeyv()` return one; `MaintenanceServiceOptions.store` takes one (or a keyv instance, wrapped by `fromKeyv()`).
 *
 * The service bounds every call by `storeTimeoutMs` and turns failures into `MaintenanceError`s, so a store only has
 * to throw (or reject) when something fails: it never needs a timeout or a fallback of its own. Optional members are
 * capabilities a store may lack; without them the service says so (`fleet()` on a store without `presence`) or polls
 * (no `changeFeed`: caches read again once per `cacheTtlMs`).
 * @example
 * const service = new MaintenanceService({ store: createFileStore({ path: '/var/run/app/maintenance.json' }) });
 */
export interface MaintenanceStore {
  /** Who the store is, for messages: `the state file /srv/app/maintenance_mode_state.json`, `Redis at redis://host:6379`. */
  readonly description: string;
  /**
   * Where the global state lies, for the message about a corrupt one: `The state file /srv/app/state.json`,
   * `The Redis key maintenance-mode::maintenance_mode_state (Redis at redis://host:6379)`.
   */
  readonly stateLocation: string;
  /**
   * The stored global state as the store holds it (the service normalises it: a django `0`/`1`, an old format),
   * or undefined when none is stored (maintenance off). Throws `ERR_MAINTENANCE_STATE_CORRUPT` for a document that is
   * no state, any other error when the store cannot be read.
   */
  readState(): Promise<unknown>;
  /**
   * Lands a switch: the new state (global, or of `change.scope`: a disabled scope's entry is removed), its history
   * entry (trimmed to `options.historyLimit`) and the change message on {@link MaintenanceStore.changeFeed}, under the
   * store's next revision, which it writes into the state and the entry and resolves with. Atomic where the store can
   * be (a write that times out on the client then lands whole later, or not at all); a store that lands in steps says
   * through `options.warn` when a step after the state failed. Rejects when the state was not written.
   */
  commit(change: Commit, options: CommitOptions): Promise<number>;
  /** The store's current revision: one counter for every scope, 0 before the first write. */
  revision(): Promise<number>;
  /** The enabled scoped states (read by `isEnabled(scope)`, written by {@link MaintenanceStore.commit}). */
  readonly scopes: ScopeTable;
  /** The audit trail, newest entries kept (appended by {@link MaintenanceStore.commit}, read by `history()`). */
  readonly history: HistoryLog;
  /** "This instance does it": notification events sent once per fleet. */
  readonly claims: ClaimStore;
  /** The control API's tokens (their hashes), read on every API request. */
  readonly tokens: TokenTable;
  /**
   * The push that tells every instance of a change at once (Redis pub/sub, PostgreSQL LISTEN/NOTIFY, the file store's
   * directory watch). Absent: instances see changes within `cacheTtlMs` (plain keyv).
   */
  readonly changeFeed?: ChangeFeed;
  /** The fleet's presence records (`fleet()`, `waitForFleet()`, `on --wait`). Absent: the store keeps no fleet (plain keyv). */
  readonly presence?: PresenceStore;
  /**
   * Closes the store gracefully: its change feed and its connections (the service bounds it by a timeout, then calls
   * {@link MaintenanceStore.destroy}). A closed store is not used again.
   */
  close(): Promise<void>;
  /** Drops every connection at once, without waiting for the server (a stalled server never answers a goodbye). */
  destroy?(): void;
}

/**
 * A {@link MaintenanceStore} that is also a keyv-like view of its keys (`get`, `set`, `delete`, `disconnect`), as
 * `createRedisStore()` and `createPostgresStore()` returned keyv instances before they returned stores:
 * `get('maintenance_mode_state')` reads the global state as keyv keeps it. `disconnect()` is
 * {@link MaintenanceStore.close}.
 */
export interface KeyvBackedStore extends MaintenanceStore, KeyvLike {
  /** Closes the store, as {@link MaintenanceStore.close} does. */
  disconnect(): Promise<void>;
}

/** The members every {@link MaintenanceStore} has, with the type of each. */
const REQUIRED: ReadonlyArray<readonly [keyof MaintenanceStore, 'string' | 'function' | 'object']> = [
  ['description', 'string'],
  ['stateLocation', 'string'],
  ['readState', 'function'],
  ['commit', 'function'],
  ['revision', 'function'],
  ['scopes', 'object'],
  ['history', 'object'],
  ['claims', 'object'],
  ['tokens', 'object'],
  ['close', 'function'],
];

/** The members of {@link MaintenanceStore} that `value` lacks (or has with the wrong type); all of them for a non-object. */
export function missingStoreMembers(value: unknown): string[] {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return REQUIRED.filter(([name, type]) => typeof v[name] !== type || v[name] === null).map(([name]) => name);
}

/** Whether `value` is a {@link MaintenanceStore} (duck-typed: it has every required member). */
export function isMaintenanceStore(value: unknown): value is MaintenanceStore {
  return missingStoreMembers(value).length === 0;
}
