/**
 * Store calls through keyv: every call is bounded by `timeoutMs` and every failure becomes a `MaintenanceError`.
 * A read reports failure in its result (the state cache decides what it means); a write that fails throws,
 * because a lost toggle must never look like a successful one. A write lands its state and its history entry
 * together (atomically where the store can: Redis, PostgreSQL), and one that times out says its outcome is unknown.
 */
import { performance } from 'node:perf_hooks';
import { changeFeedOf } from '../core/change-feed.js';
import { type Commit, committerOf } from '../core/commit.js';
import { MaintenanceError } from '../core/errors.js';
import {
  appendHistory,
  HISTORY_KEY,
  HISTORY_LIMIT,
  type HistoryEntry,
  historyLogOf,
  normalizeHistory,
} from '../core/history.js';
import { type KeyvLike, STATE_LOCATION, storeText } from '../core/keyv-like.js';
import { scopeTableOf } from '../core/scope.js';
import { type MaintenanceState, normalizeState, OFF_STATE } from '../core/state.js';
import { STATE_KEY } from './file/file-state.js';
import { createKeyvScopeTable } from './keyv/keyv-scopes.js';

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

/** Reads and writes the state through a keyv instance. */
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
  /** The stored state of `scope` (off when it has none). */
  readScope(scope: string): Promise<ReadResult>;
  /** Every enabled scoped state. */
  readScopes(): Promise<ReadResult<ScopeStates>>;
  /** Human description used in messages (file path or "keyv store"). */
  readonly description: string;
}

/** Settings of {@link createStateStore}. */
export interface StateStoreSettings {
  readonly keyv: KeyvLike;
  readonly description: string;
  readonly timeoutMs: number;
  /** Told when a change landed but could not be added to the history or pushed (stores without a committer). */
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
  const location = storeText(s.keyv, STATE_LOCATION) ?? `The key ${STATE_KEY} of ${s.description}`;
  const scopes = scopeTableOf(s.keyv) ?? createKeyvScopeTable(s.keyv);
  const committer = committerOf(s.keyv);
  const feed = changeFeedOf(s.keyv);
  const log = historyLogOf(s.keyv);
  /** A read that reports failure in its result instead of throwing. */
  async function result<T>(op: () => Promise<T>, what: string): Promise<ReadResult<T>> {
    try {
      return { ok: true, state: (await call(op, 'ERR_MAINTENANCE_STORE_READ', what)) as T };
    } catch (err) {
      return { ok: false, error: asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what) };
    }
  }

  /**
   * What a store without a committer does, in order: the next revision (read, add one, write: two writers in the same
   * instant can share one), the state, then its history entry, then the push.
   */
  async function landInSteps(change: Commit): Promise<number> {
    const revision = Number((await s.keyv.get(REVISION_KEY)) ?? 0) + 1;
    await s.keyv.set(REVISION_KEY, revision);
    const state = { ...change.state, revision };
    const { scope } = change;
    const entry = change.entry === undefined ? undefined : { ...change.entry, revision };
    const done = scope === undefined ? await s.keyv.set(STATE_KEY, state) : await scopes.set(scope, live(state));
    if (done === false) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_STORE_WRITE',
        `Writing ${s.description} failed: the store reported the write as not done. The state is unchanged.`,
      );
    }
    // The change itself is saved: a failure of what follows is logged, not thrown (the switch did happen).
    try {
      if (entry === undefined) {
        // a quiet write: no history entry
      } else if (log) await log.append(entry, HISTORY_LIMIT);
      else await s.keyv.set(HISTORY_KEY, appendHistory(normalizeHistory(await s.keyv.get(HISTORY_KEY)), entry));
    } catch (err) {
      s.logger.warn(`koa-maintenance-mode: the change was saved but not added to the history: ${message(err)}`);
    }
    await feed?.publish(scope === undefined ? { revision } : { scope, revision }).catch((err: unknown) => {
      s.logger.warn(`koa-maintenance-mode: the change was saved but not pushed to other instances: ${message(err)}`);
    });
    return revision;
  }

  return {
    description: s.description,
    async read() {
      const what = `Reading ${s.description}`;
      try {
        const value = await call(() => s.keyv.get(STATE_KEY), 'ERR_MAINTENANCE_STORE_READ', what);
        return { ok: true, state: normalizeState(value) };
      } catch (err) {
        const error = asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', what);
        return {
          ok: false,
          error: error.code === 'ERR_MAINTENANCE_STATE_CORRUPT' ? corruptAt(error, location) : error,
        };
      }
    },
    async commit(change) {
      const target = change.scope === undefined ? 'the state' : `the state of scope ${JSON.stringify(change.scope)}`;
      const what = `Writing ${target} to ${s.description}`;
      // The whole change is one operation: when the timeout fires it goes on, so its parts still land together.
      const op = committer ? committer.commit(change, HISTORY_LIMIT) : landInSteps(change);
      try {
        return await withTimeout(op, s.timeoutMs, what);
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
      const what = `Reading the revision of ${s.description}`;
      const read = () => (committer ? committer.revision() : s.keyv.get(REVISION_KEY).then((v) => Number(v ?? 0)));
      return (await call(read, 'ERR_MAINTENANCE_STORE_READ', what)) as number;
    },
    readScope: (scope) =>
      result(
        async () => (await scopes.get(scope)) ?? OFF_STATE,
        `Reading the state of scope ${JSON.stringify(scope)} from ${s.description}`,
      ),
    readScopes: () => result(() => scopes.list(), `Reading the scoped states from ${s.description}`),
    async readHistory(limit) {
      if (limit <= 0) return [];
      const what = `Reading the history from ${s.description}`;
      const list = log
        ? ((await call(() => log.read(limit), 'ERR_MAINTENANCE_STORE_READ', what)) as HistoryEntry[])
        : normalizeHistory(await call(() => s.keyv.get(HISTORY_KEY), 'ERR_MAINTENANCE_STORE_READ', what));
      return list.slice(-limit);
    },
  };
}

/** keyv key of the revision counter of stores without a committer of their own. */
const REVISION_KEY = 'maintenance_mode_revision';

/** The scope table keeps enabled states only: a disabled one is removed. */
const live = (state: MaintenanceState) => (state.enabled ? state : undefined);

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
