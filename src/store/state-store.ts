/**
 * Store calls of the service: every call is bounded by `timeoutMs` and every failure becomes a `MaintenanceError`.
 * A read reports failure in its result (the state cache decides what it means); a write that fails throws,
 * because a lost toggle must never look like a successful one. A write lands its state and its history entry
 * together (atomically where the store can: Redis, PostgreSQL), and one that times out says its outcome is unknown.
 */
import { performance } from 'node:perf_hooks';
import type { Commit } from '../core/commit.js';
import { MaintenanceError } from '../core/errors.js';
import { HISTORY_LIMIT, type HistoryEntry } from '../core/history.js';
import { type MaintenanceState, normalizeState, OFF_STATE } from '../core/state.js';
import type { MaintenanceStore } from './maintenance-store.js';

/** Where warnings go. `console` fits; so do pino and winston loggers. */
export interface MaintenanceLogger {
  /** An outage, a lost push or history entry, a risky setup: once per occurrence. */
  warn(message: string): void;
  /** A recovery (the store readable again); `warn` is used when there is no `info`. */
  info?(message: string): void;
}

/** Result of a read: the stored state (or the scope table), or why there is none. */
export type ReadResult<T = MaintenanceState> =
  | { readonly ok: true; readonly state: T }
  | { readonly ok: false; readonly error: MaintenanceError };

/** Every enabled scoped state, by scope name. */
export type ScopeStates = ReadonlyMap<string, MaintenanceState>;

/** Reads and writes the state through a {@link MaintenanceStore}, every call bounded. */
export interface StateStore {
  read(): Promise<ReadResult>;
  /**
   * Lands a change: the state (global, or of `change.scope`; a disabled scope removes its entry), its history entry
   * and the change message for other instances, and resolves with the revision the store gave it. Throws
   * `ERR_MAINTENANCE_STORE_WRITE` when it was not done, and `ERR_MAINTENANCE_STORE_WRITE_UNKNOWN` when it did not
   * answer in time (it may still land, whole).
   */
  commit(change: Commit): Promise<number>;
  /** The store's current revision (0 before the first write); failures throw `MaintenanceError`. */
  readRevision(): Promise<number>;
  /** The newest `limit` history entries, oldest first; failures throw `MaintenanceError`. */
  readHistory(limit: number): Promise<HistoryEntry[]>;
  /** Adds an entry that records without a switch (a health check that failed while a person's state was in force). */
  appendHistory(entry: HistoryEntry): Promise<void>;
  /** The stored state of `scope` (off when it has none). */
  readScope(scope: string): Promise<ReadResult>;
  /** Every enabled scoped state. */
  readScopes(): Promise<ReadResult<ScopeStates>>;
  /** Human description used in messages (file path or "keyv store"). */
  readonly description: string;
}

/** Settings of {@link createStateStore}. */
export interface StateStoreSettings {
  readonly store: MaintenanceStore;
  readonly timeoutMs: number;
  /** Told when a change landed but could not be added to the history or pushed (stores that land in steps). */
  readonly logger: MaintenanceLogger;
}

/**
 * Races `promise` against a timer that does not keep the process alive. The limit counts the time the event loop had:
 * a timer that fires late (the loop was blocked or the process stopped) gives the call the time it was late, once, up
 * to `ms` more, so an answer that arrived meanwhile (and still needs a few turns of the loop) is not a timeout. A stall
 * makes a call wait at most `ms` more; only a call still pending after that fails.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    let due = performance.now() + ms;
    let extended = false;
    const fire = () => {
      const late = performance.now() - due;
      if (!extended && late >= 1) {
        extended = true;
        const more = Math.min(late, ms);
        due += late + more;
        timer = setTimeout(fire, more);
        timer.unref();
        return;
      }
      reject(
        new MaintenanceError(
          'ERR_MAINTENANCE_STORE_TIMEOUT',
          `${what} took longer than storeTimeoutMs (${ms} ms). Check that the store is reachable, or raise storeTimeoutMs.`,
        ),
      );
    };
    timer = setTimeout(fire, ms);
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

/** A corrupt global state, said with where it lies and how to mend it. */
function corruptAt(err: MaintenanceError, location: string): MaintenanceError {
  return new MaintenanceError(
    'ERR_MAINTENANCE_STATE_CORRUPT',
    `${location}: ${err.message} Switch maintenance on or off to overwrite it (\`maintenance-mode off\`), or correct it by hand.`,
    { cause: err },
  );
}

/** One store call, bounded by `timeoutMs`, any failure turned into a `MaintenanceError` saying what failed. */
async function bounded(
  op: () => unknown,
  timeoutMs: number,
  code: 'ERR_MAINTENANCE_STORE_READ' | 'ERR_MAINTENANCE_STORE_WRITE',
  what: string,
): Promise<unknown> {
  try {
    return await withTimeout(Promise.resolve(op()), timeoutMs, what);
  } catch (err) {
    throw asMaintenanceError(err, code, what);
  }
}

/** A bounded read that reports failure in its result instead of throwing. */
async function boundedResult<T>(op: () => Promise<T>, timeoutMs: number, what: string): Promise<ReadResult<T>> {
  try {
    return { ok: true, state: (await bounded(op, timeoutMs, 'ERR_MAINTENANCE_STORE_READ', what)) as T };
  } catch (err) {
    return { ok: false, error: asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what) };
  }
}

/** The history's calls of a {@link StateStore}, each bounded by `timeoutMs`. */
function historyCalls(store: MaintenanceStore, timeoutMs: number): Pick<StateStore, 'readHistory' | 'appendHistory'> {
  return {
    async readHistory(limit) {
      if (limit <= 0) return [];
      const what = `Reading the history from ${store.description}`;
      const list = (await bounded(
        () => store.history.read(limit),
        timeoutMs,
        'ERR_MAINTENANCE_STORE_READ',
        what,
      )) as HistoryEntry[];
      return list.slice(-limit);
    },
    async appendHistory(entry) {
      const what = `Adding to the history in ${store.description}`;
      await bounded(() => store.history.append(entry, HISTORY_LIMIT), timeoutMs, 'ERR_MAINTENANCE_STORE_WRITE', what);
    },
  };
}

/** Builds the {@link StateStore} for one service. */
export function createStateStore(s: StateStoreSettings): StateStore {
  const { store } = s;
  const read = (op: () => unknown, what: string) => bounded(op, s.timeoutMs, 'ERR_MAINTENANCE_STORE_READ', what);
  const result = <T>(op: () => Promise<T>, what: string) => boundedResult(op, s.timeoutMs, what);
  const options = { historyLimit: HISTORY_LIMIT, warn: (message: string) => s.logger.warn(message) };

  return {
    description: store.description,
    async read() {
      const what = `Reading ${store.description}`;
      try {
        const value = await read(() => store.readState(), what);
        return { ok: true, state: normalizeState(value) };
      } catch (err) {
        const error = asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what);
        return {
          ok: false,
          error: error.code === 'ERR_MAINTENANCE_STATE_CORRUPT' ? corruptAt(error, store.stateLocation) : error,
        };
      }
    },
    async commit(change) {
      const target = change.scope === undefined ? 'the state' : `the state of scope ${JSON.stringify(change.scope)}`;
      const what = `Writing ${target} to ${store.description}`;
      // The whole change is one operation: when the timeout fires it goes on, so its parts still land together.
      try {
        return await withTimeout(store.commit(change, options), s.timeoutMs, what);
      } catch (err) {
        if ((err as MaintenanceError).code !== 'ERR_MAINTENANCE_STORE_TIMEOUT') {
          throw asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_WRITE', what);
        }
        throw new MaintenanceError(
          'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN',
          `${what} did not answer within storeTimeoutMs (${s.timeoutMs} ms), so its outcome is unknown: it may still ` +
            'land, with its history entry, and then every instance is told. Check with `maintenance-mode status` ' +
            'before switching again.',
          { cause: err },
        );
      }
    },
    async readRevision() {
      const what = `Reading the revision of ${store.description}`;
      return (await read(() => store.revision(), what)) as number;
    },
    readScope: (scope) =>
      result(
        async () => (await store.scopes.get(scope)) ?? OFF_STATE,
        `Reading the state of scope ${JSON.stringify(scope)} from ${store.description}`,
      ),
    readScopes: () => result(() => store.scopes.list(), `Reading the scoped states from ${store.description}`),
    ...historyCalls(store, s.timeoutMs),
  };
}
