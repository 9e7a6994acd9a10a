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
 */

import { withGetters } from '../core/fast-object.js';
import type { MaintenanceState } from '../core/state.js';
import { OFF_STATE } from '../core/state.js';
import type { MaintenanceLogger, ReadResult, ScopeStates, StateStore } from '../store/state-store.js';

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
  const schedule = s.schedule ?? unrefTimeout;
  let entry: { state: T; at: number } | undefined;
  let lastGood: T | undefined;
  let outageSince: number | undefined;
  let generation = 0;
  let inflight: Promise<boolean> | undefined;
  let inflightGeneration = -1;
  let reads = 0;
  /** How long an entry is fresh: `ttlMs`, or less once {@link Cache.freshAtMost} said so. */
  let freshMs = s.ttlMs;
  /** The entry's value until its freshness ends (`fresh()` also reads the clock: a stopped process's timers are late). */
  let hot: T | undefined;
  let freshUntil = Number.NEGATIVE_INFINITY;
  /** The last time a tick found the event loop on time (no stall longer than `freshMs` since). */
  let lastAlive = s.clock();
  /** Reads that started before this time (before a stall was found) are not served without another read. */
  let trustFrom = Number.NEGATIVE_INFINITY;
  let ticking = false;
  let due = 0;

  /**
   * Every `freshMs / 2` while the entry may be served (younger than `2 × freshMs`): ends its freshness, and tells
   * whether the loop is on time. A stall longer than `freshMs` makes the next tick more than `freshMs / 2` late.
   */
  function tick(): void {
    ticking = false;
    const now = s.clock();
    if (now - due <= freshMs / 2) lastAlive = now;
    if (hot !== undefined && now >= freshUntil) hot = undefined;
    if (entry !== undefined && now - entry.at < 2 * freshMs) arm(now);
  }

  function arm(now: number): void {
    if (ticking || freshMs <= 0) return;
    ticking = true;
    due = now + freshMs / 2;
    schedule(tick, freshMs / 2);
  }

  /**
   * The loop was blocked or the process stopped for longer than `freshMs`: a change pushed meanwhile may still wait in
   * the queue, so what is held (or being read since before) is served only after a read that starts now.
   */
  function stalled(now: number): void {
    trustFrom = now;
    lastAlive = now;
    hot = undefined;
  }

  /** `at`: when the value was known to be the store's (a read's start, a push's arrival). */
  function set(state: T, at: number): void {
    const previous = entry?.state;
    entry = { state, at };
    if (freshMs > 0) {
      const now = s.clock();
      freshUntil = at >= trustFrom ? at + freshMs : Number.NEGATIVE_INFINITY;
      hot = now < freshUntil ? state : undefined;
      arm(now);
    }
    if (s.onChange && (previous === undefined || !s.same(previous, state))) s.onChange(previous, state);
  }

  function good(state: T, at: number): void {
    if (outageSince !== undefined) {
      (s.logger.info ?? s.logger.warn).call(
        s.logger,
        `koa-maintenance-mode: ${s.source.description} is readable again.`,
      );
    }
    set(state, at);
    lastGood = state;
    outageSince = undefined;
  }

  function apply(result: ReadResult<T>, startedAt: number): void {
    if (result.ok) {
      good(result.state, startedAt);
      return;
    }
    const now = s.clock();
    if (outageSince === undefined) {
      outageSince = now;
      const keep = lastGood !== undefined && s.ttlMs > 0 ? `the last known state for ${s.ttlMs} ms, then ` : '';
      s.logger.warn(
        `koa-maintenance-mode: cannot read ${s.what} (${result.error.message}); ` +
          `using ${keep}${s.fallbackText} until it can be read again.`,
      );
    }
    const grace = lastGood !== undefined && now - outageSince < s.ttlMs;
    set(grace ? (lastGood as T) : s.fallback, now);
  }

  /** One read at a time per generation; a read from before a push or signal is left to finish and ignored. */
  /** Reads once per generation; resolves whether the result was applied and was a good read. */
  function refresh(): Promise<boolean> {
    if (inflight && inflightGeneration === generation) return inflight;
    const started = generation;
    const startedAt = s.clock();
    reads++;
    const run: Promise<boolean> = s.source
      .read()
      .then((result) => {
        s.onRead?.(result);
        // A read that raced a push is stale, unless nothing is known yet: then it is better than nothing.
        const current = started === generation || entry === undefined;
        if (current) apply(result, startedAt);
        return current && result.ok && started === generation;
      })
      .finally(() => {
        if (inflight === run) inflight = undefined;
      });
    inflight = run;
    inflightGeneration = started;
    return run;
  }

  /**
   * Waits for a read. One that started before a stall was found is followed by one that starts now, and so is one
   * discarded because a change signal came meanwhile (a burst of file events after a stall): the entry it leaves is
   * the invalidated one. Bounded: a store that keeps signalling gets the last entry after a few reads.
   */
  async function fetched(): Promise<T> {
    for (let tries = 0; tries < 4; tries++) {
      await refresh();
      const at = (entry as { at: number }).at;
      if (at >= trustFrom && at !== Number.NEGATIVE_INFINITY) break;
    }
    return (entry as { state: T }).state;
  }

  const cache: Omit<Cache<T>, 'known' | 'reads' | 'failing'> = {
    async get() {
      if (freshMs > 0 && entry) {
        const now = s.clock();
        const age = now - entry.at;
        if (age < freshMs && entry.at >= trustFrom) return entry.state;
        if (now - lastAlive > freshMs) stalled(now);
        else if (age < 2 * freshMs && entry.at >= trustFrom) {
          void refresh();
          return entry.state;
        }
      }
      return fetched();
    },
    fresh: () => (hot !== undefined && s.clock() < freshUntil ? hot : undefined),
    peek: () => (entry ? entry.state : s.initial),
    accept(state) {
      generation++;
      good(state, s.clock());
    },
    invalidate() {
      generation++;
      if (entry) entry = { state: entry.state, at: Number.NEGATIVE_INFINITY };
      hot = undefined;
      return refresh();
    },
    async readThrough() {
      reads++;
      const result = await s.source.read();
      s.onRead?.(result);
      if (result.ok) this.accept(result.state);
      return result;
    },
    freshAtMost(ms) {
      if (s.ttlMs > 0) freshMs = Math.min(s.ttlMs, ms);
    },
  };
  return withGetters(cache, {
    known: () => entry !== undefined,
    reads: () => reads,
    failing: () => outageSince !== undefined,
  });
}

/** Schedules `fn` in `ms` on a timer that does not keep the process alive. */
function unrefTimeout(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}
