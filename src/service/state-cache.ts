/**
 * The in-memory state of one service, and the one place that decides what a store failure means. One cache holds
 * the global state; a second one, built the same way, holds the table of scoped states.
 * - At most one store read per `ttlMs`: fresh entries are served from memory; an entry between `ttlMs` and
 *   `2 × ttlMs` old is served while one background read refreshes it; an older one (idle process) waits for a read.
 *   An entry's age counts from when its read started (a read that waited out a stall is as old as the stall).
 * - Pushed changes (`accept`) and signals (`invalidate`) update it at once; a read that started before a push is
 *   discarded, so a slow read can never overwrite a newer state.
 * - A stall (the event loop blocked, the process stopped) longer than the freshness hides the pushes that arrived
 *   meanwhile: ticks every half freshness tell one (a tick more than that late), and after one the first request waits
 *   for a read that starts after it (#30). A fleet member is never fresh for longer than its presence interval
 *   (`freshAtMost`): an instance stopped long enough to be stale to the fleet re-reads before it serves.
 * - A failed read keeps the last good value for `ttlMs` after the outage began, then the fallback (`fallbackValue`
 *   for the global state, no scoped maintenance for the scopes); while the store is down it is probed at most once
 *   per `ttlMs` (the circuit breaker), in the background, and recovers by itself.
 * `ttlMs = 0` disables caching: every `get()` reads, and a failure yields the fallback at once.
 * `fresh()`, asked on every request, reads one monotonic clock and compares: a timer alone would keep a stale entry
 * fresh for the requests a stopped or blocked process answers before its timers run.
 * Here: the entry and the outage policy; when an entry is served, in `cache-freshness.ts`; the reads and their
 * generations, in `cache-reads.ts`.
 */

import type { MaintenanceError } from '../core/errors.js';
import { withGetters } from '../core/fast-object.js';
import type { MaintenanceState } from '../core/state.js';
import { OFF_STATE } from '../core/state.js';
import type { MaintenanceLogger, ReadResult, ScopeStates, StateStore } from '../store/state-store.js';
import { createFreshness } from './cache-freshness.js';
import { createReads, readApplied } from './cache-reads.js';

/** What a cache reads: one function and the store's description for messages. */
export interface CacheSource<T> {
  readonly description: string;
  read(): Promise<ReadResult<T>>;
}

/** Settings of {@link createCache}. */
export interface CacheSettings<T> {
  readonly source: CacheSource<T>;
  readonly ttlMs: number;
  /** Value before the first read. */
  readonly initial: T;
  /** Value once the store has failed for longer than `ttlMs`. */
  readonly fallback: T;
  /** Says what the fallback means, for the outage warning (e.g. "fallbackValue=false"). */
  readonly fallbackText: string;
  /** What is read, for the outage warning (e.g. "the maintenance state"). */
  readonly what: string;
  readonly same: (a: T, b: T) => boolean;
  /** Milliseconds clock; `performance.now` in production, a fake in tests. */
  readonly clock: () => number;
  /** Told once when an outage begins and once when the store is readable again. */
  readonly logger: MaintenanceLogger;
  /** Called after every read, with its result. */
  readonly onRead?: (result: ReadResult<T>) => void;
  /** Called when the value in force changes (by a read, a push, a write or the outage policy). */
  readonly onChange?: (previous: T | undefined, next: T) => void;
  /** Runs `fn` in `ms` (the cache's ticks). @default an unref'd `setTimeout` (a fake scheduler in tests) */
  readonly schedule?: (fn: () => void, ms: number) => void;
}

/** See the module comment. */
export interface Cache<T> {
  get(): Promise<T>;
  /** The entry when it is fresh (no read needed), synchronously; undefined otherwise. */
  fresh(): T | undefined;
  /** The last value read, written or pushed (the initial value before any), synchronously. */
  peek(): T;
  /** Whether a value was read, written or pushed yet. */
  readonly known: boolean;
  /** The last read failed (an outage): the value in force is the last good one or the fallback, not one read. */
  readonly failing: boolean;
  accept(value: T): void;
  /**
   * Drops the entry's freshness and reads again; resolves true once that read has been applied (false when it failed
   * or a later signal superseded it: the later read then reports).
   */
  invalidate(): Promise<boolean>;
  readThrough(): Promise<ReadResult<T>>;
  /** Number of store reads so far (for benchmarks and tests). */
  readonly reads: number;
  /**
   * Keeps entries fresh for at most `ms` (never longer than `ttlMs`; no effect with `ttlMs = 0`): a fleet member's
   * presence interval, so an instance stopped long enough to be stale to the fleet re-reads before it serves.
   */
  freshAtMost(ms: number): void;
}

/** Settings of {@link createStateCache}. */
export interface StateCacheSettings {
  readonly store: Pick<StateStore, 'read' | 'description'>;
  readonly ttlMs: number;
  readonly fallbackValue: boolean;
  /** Milliseconds clock; `performance.now` in production, a fake in tests. */
  readonly clock: () => number;
  /** Told once when an outage begins and once when the store is readable again. */
  readonly logger: MaintenanceLogger;
  /** Called after every read, with its result. */
  readonly onRead?: (result: ReadResult) => void;
  /** Called when the state in force changes (by a read, a push, a write or the outage policy). */
  readonly onChange?: (previous: MaintenanceState | undefined, next: MaintenanceState) => void;
  /** Runs `fn` in `ms` (the cache's ticks). @default an unref'd `setTimeout` (a fake scheduler in tests) */
  readonly schedule?: (fn: () => void, ms: number) => void;
}

const FIELDS = [
  'enabled',
  'start',
  'end',
  'message',
  'updatedAt',
  'updatedBy',
  'readOnly',
  'bypassHash',
  'dryRun',
  'revision',
  'leaseUntil',
  'leaseMs',
] as const;

/** Whether two states are the same document. */
export function sameState(a: MaintenanceState, b: MaintenanceState): boolean {
  return FIELDS.every((k) => a[k] === b[k]);
}

/** The cache of the global state. */
export type StateCache = Cache<MaintenanceState>;

/** Whether two scope tables hold the same states. */
export function sameScopes(a: ScopeStates, b: ScopeStates): boolean {
  if (a.size !== b.size) return false;
  for (const [scope, state] of a) {
    const other = b.get(scope);
    if (other === undefined || !sameState(state, other)) return false;
  }
  return true;
}

/** The cache of the global state of one service. */
export function createStateCache(s: StateCacheSettings): StateCache {
  return createCache<MaintenanceState>({
    ...s,
    source: { description: s.store.description, read: () => s.store.read() },
    initial: OFF_STATE,
    fallback: Object.freeze({ enabled: s.fallbackValue }),
    fallbackText: `fallbackValue=${s.fallbackValue}`,
    what: 'the maintenance state',
    same: sameState,
  });
}

/** Builds one cache (see the module comment). */
export function createCache<T>(s: CacheSettings<T>): Cache<T> {
  let entry: { state: T; at: number } | undefined;
  const schedule = s.schedule ?? unrefTimeout;
  const freshness = createFreshness<T>({ ttlMs: s.ttlMs, clock: s.clock, schedule, entryAt: () => entry?.at });
  const outage = createOutage(s);
  /** `at`: when the value was known to be the store's (a read's start, a push's arrival). */
  const set = (state: T, at: number): void => {
    const previous = entry?.state;
    entry = { state, at };
    freshness.held(state, at);
    if (s.onChange && (previous === undefined || !s.same(previous, state))) s.onChange(previous, state);
  };
  const good = (state: T, at: number): void => {
    outage.recovering();
    set(state, at);
    outage.recovered(state);
  };
  const apply = (result: ReadResult<T>, startedAt: number): void => {
    if (result.ok) {
      good(result.state, startedAt);
      return;
    }
    const now = s.clock();
    set(outage.failed(result.error, now), now);
  };
  const reads = createReads(s, apply, () => entry === undefined);
  const fetched = () => readApplied(reads.refresh, freshness.trusted, () => entry as { state: T; at: number });
  const cache: Omit<Cache<T>, 'known' | 'reads' | 'failing'> = {
    async get() {
      const serving = entry && freshness.serving(entry.at);
      if (entry && serving === 'fresh') return entry.state;
      if (entry && serving === 'stale') {
        void reads.refresh();
        return entry.state;
      }
      return fetched();
    },
    fresh: freshness.fresh,
    peek: () => (entry ? entry.state : s.initial),
    accept(state) {
      reads.supersede();
      good(state, s.clock());
    },
    invalidate() {
      reads.supersede();
      if (entry) entry = { state: entry.state, at: Number.NEGATIVE_INFINITY };
      freshness.drop();
      return reads.refresh();
    },
    async readThrough() {
      reads.countOne();
      const result = await s.source.read();
      s.onRead?.(result);
      if (result.ok) this.accept(result.state);
      return result;
    },
    freshAtMost: freshness.freshAtMost,
  };
  return withGetters(cache, { known: () => entry !== undefined, reads: reads.count, failing: outage.failing });
}

/**
 * The outage policy of one cache: a failed read keeps the last good value for `ttlMs` after the outage began, then
 * the fallback; the logger is told once when an outage begins and once when the store is readable again.
 */
function createOutage<T>(s: CacheSettings<T>) {
  let lastGood: T | undefined;
  let outageSince: number | undefined;
  return {
    /** Whether the last read failed. */
    failing: () => outageSince !== undefined,
    /** A good value is about to be held: says so when the store was not readable (the outage ends once it is held). */
    recovering() {
      if (outageSince === undefined) return;
      (s.logger.info ?? s.logger.warn).call(
        s.logger,
        `koa-maintenance-mode: ${s.source.description} is readable again.`,
      );
    },
    /** A good value is held. */
    recovered(state: T) {
      lastGood = state;
      outageSince = undefined;
    },
    /** A read failed at `now`: the value to hold (warns when the outage begins). */
    failed(error: MaintenanceError, now: number): T {
      if (outageSince === undefined) {
        outageSince = now;
        const keep = lastGood !== undefined && s.ttlMs > 0 ? `the last known state for ${s.ttlMs} ms, then ` : '';
        s.logger.warn(
          `koa-maintenance-mode: cannot read ${s.what} (${error.message}); ` +
            `using ${keep}${s.fallbackText} until it can be read again.`,
        );
      }
      const grace = lastGood !== undefined && now - outageSince < s.ttlMs;
      return grace ? (lastGood as T) : s.fallback;
    },
  };
}

/** Schedules `fn` in `ms` on a timer that does not keep the process alive. */
function unrefTimeout(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}
