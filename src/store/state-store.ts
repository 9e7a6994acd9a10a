/**
 * Store calls through keyv: every call is bounded by `timeoutMs` and every failure becomes a `MaintenanceError`.
 * A read reports failure in its result (the state cache decides what it means); a write that fails throws,
 * because a lost toggle must never look like a successful one.
 */
import { MaintenanceError } from '../core/errors.js';
import {
  appendHistory,
  HISTORY_KEY,
  HISTORY_LIMIT,
  type HistoryEntry,
  historyLogOf,
  normalizeHistory,
} from '../core/history.js';
import type { KeyvLike } from '../core/keyv-like.js';
import { scopeTableOf } from '../core/scope.js';
import { type MaintenanceState, normalizeState, OFF_STATE } from '../core/state.js';
import { STATE_KEY } from './file-store.js';
import { createKeyvScopeTable } from './keyv-scopes.js';

/** Where warnings go. `console` fits; so do pino and winston loggers. */
export interface MaintenanceLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Result of a read: the stored state (or the scope table), or why there is none. */
export type ReadResult<T = MaintenanceState> =
  | { readonly ok: true; readonly state: T }
  | { readonly ok: false; readonly error: MaintenanceError };

/** Every enabled scoped state, by scope name. */
export type ScopeStates = ReadonlyMap<string, MaintenanceState>;

/** Reads and writes the state through a keyv instance. */
export interface StateStore {
  read(): Promise<ReadResult>;
  write(state: MaintenanceState): Promise<void>;
  /** The newest `limit` history entries, oldest first; failures throw `MaintenanceError`. */
  readHistory(limit: number): Promise<HistoryEntry[]>;
  /** Appends one entry: atomically where the store keeps a log (Redis, the file store), else read-modify-write. */
  appendHistory(entry: HistoryEntry): Promise<void>;
  /** The stored state of `scope` (off when it has none). */
  readScope(scope: string): Promise<ReadResult>;
  /** Every enabled scoped state. */
  readScopes(): Promise<ReadResult<ScopeStates>>;
  /** Writes the state of `scope`; a disabled state removes the scope's entry. Failures throw. */
  writeScope(scope: string, state: MaintenanceState): Promise<void>;
  /** Human description used in messages (file path or "keyv store"). */
  readonly description: string;
}

/** Settings of {@link createStateStore}. */
export interface StateStoreSettings {
  readonly keyv: KeyvLike;
  readonly description: string;
  readonly timeoutMs: number;
}

/** Races `promise` against a timer that does not keep the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MaintenanceError(
            'ERR_MAINTENANCE_STORE_TIMEOUT',
            `${what} took longer than storeTimeoutMs (${ms} ms). Check that the store is reachable, or raise storeTimeoutMs.`,
          ),
        ),
      ms,
    );
    timer.unref();
  });
  promise.catch(() => undefined); // a late failure after the timeout must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function asMaintenanceError(
  err: unknown,
  code: 'ERR_MAINTENANCE_STORE_READ' | 'ERR_MAINTENANCE_STORE_WRITE',
  what: string,
) {
  if (err instanceof MaintenanceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new MaintenanceError(code, `${what} failed: ${detail}`, { cause: err });
}

/** Builds the {@link StateStore} for one service. */
export function createStateStore(s: StateStoreSettings): StateStore {
  /** One keyv call, bounded by the timeout, any failure turned into a `MaintenanceError` saying what failed. */
  async function call(
    op: () => unknown,
    code: 'ERR_MAINTENANCE_STORE_READ' | 'ERR_MAINTENANCE_STORE_WRITE',
    what: string,
  ): Promise<unknown> {
    try {
      return await withTimeout(Promise.resolve(op()), s.timeoutMs, what);
    } catch (err) {
      throw asMaintenanceError(err, code, what);
    }
  }
  const readKey = (key: string) =>
    call(() => s.keyv.get(key), 'ERR_MAINTENANCE_STORE_READ', `Reading ${key} from ${s.description}`);
  const writeKey = (key: string, value: unknown) =>
    call(() => s.keyv.set(key, value), 'ERR_MAINTENANCE_STORE_WRITE', `Writing ${key} to ${s.description}`);

  const scopes = scopeTableOf(s.keyv) ?? createKeyvScopeTable(s.keyv);
  /** A read that reports failure in its result instead of throwing. */
  async function result<T>(op: () => Promise<T>, what: string): Promise<ReadResult<T>> {
    try {
      return { ok: true, state: (await call(op, 'ERR_MAINTENANCE_STORE_READ', what)) as T };
    } catch (err) {
      return { ok: false, error: asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what) };
    }
  }

  return {
    description: s.description,
    async read() {
      const what = `Reading ${s.description}`;
      try {
        const value = await call(() => s.keyv.get(STATE_KEY), 'ERR_MAINTENANCE_STORE_READ', what);
        return { ok: true, state: normalizeState(value) };
      } catch (err) {
        return { ok: false, error: asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what) };
      }
    },
    async write(state) {
      const result = await call(
        () => s.keyv.set(STATE_KEY, state),
        'ERR_MAINTENANCE_STORE_WRITE',
        `Writing ${s.description}`,
      );
      if (result === false) {
        throw new MaintenanceError(
          'ERR_MAINTENANCE_STORE_WRITE',
          `Writing ${s.description} failed: the store reported the write as not done. The state is unchanged.`,
        );
      }
    },
    readScope: (scope) =>
      result(
        async () => (await scopes.get(scope)) ?? OFF_STATE,
        `Reading the state of scope ${JSON.stringify(scope)} from ${s.description}`,
      ),
    readScopes: () => result(() => scopes.list(), `Reading the scoped states from ${s.description}`),
    async writeScope(scope, state) {
      await call(
        () => scopes.set(scope, state.enabled ? state : undefined),
        'ERR_MAINTENANCE_STORE_WRITE',
        `Writing the state of scope ${JSON.stringify(scope)} to ${s.description}`,
      );
    },
    async readHistory(limit) {
      if (limit <= 0) return [];
      const log = historyLogOf(s.keyv);
      const list = log
        ? ((await call(
            () => log.read(limit),
            'ERR_MAINTENANCE_STORE_READ',
            `Reading the history from ${s.description}`,
          )) as HistoryEntry[])
        : normalizeHistory(await readKey(HISTORY_KEY));
      return list.slice(-limit);
    },
    async appendHistory(entry) {
      const log = historyLogOf(s.keyv);
      if (log) {
        await call(
          () => log.append(entry, HISTORY_LIMIT),
          'ERR_MAINTENANCE_STORE_WRITE',
          `Appending to the history in ${s.description}`,
        );
        return;
      }
      // No log in this store: read, append, trim, write (two writers in the same instant can lose one entry).
      const list = normalizeHistory(await readKey(HISTORY_KEY));
      await writeKey(HISTORY_KEY, appendHistory(list, entry));
    },
  };
}
