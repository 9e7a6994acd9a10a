/**
 * The in-memory state of one service, and the one place that decides what a store failure means. One cache holds
 * the global state; a second one, built the same way, holds the table of scoped states.
 * - At most one store read per `ttlMs`: fresh entries are served from memory; an entry between `ttlMs` and
 *   `2 × ttlMs` old is served while one background read refreshes it; an older one (idle process) waits for a read.
 * - Pushed changes (`accept`) and signals (`invalidate`) update it at once; a read that started before a push is
 *   discarded, so a slow read can never overwrite a newer state.
 * - A failed read keeps the last good value for `ttlMs` after the outage began, then the fallback (`fallbackValue`
 *   for the global state, no scoped maintenance for the scopes); while the store is down it is probed at most once
 *   per `ttlMs` (the circuit breaker), in the background, and recovers by itself.
 * `ttlMs = 0` disables caching: every `get()` reads, and a failure yields the fallback at once.
 * `fresh()`, asked on every request, reads no clock: one unref'd timer per entry ends its freshness `ttlMs` after it
 * was set (later only by the event loop's lag), and a signal ends it at once.
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
  let lastGood: T | undefined;
  let outageSince: number | undefined;
  let generation = 0;
  let inflight: Promise<boolean> | undefined;
  let inflightGeneration = -1;
  let reads = 0;
  /** The entry's value while it is younger than `ttlMs` (what `fresh()` answers), else undefined. */
  let hot: T | undefined;
  let expiry: NodeJS.Timeout | undefined;

  /** Ends the entry's freshness when it is `ttlMs` old (a newer entry moves the end: the timer is armed again). */
  function expire(): void {
    const age = entry === undefined ? Number.POSITIVE_INFINITY : s.clock() - entry.at;
    expiry = age < s.ttlMs ? setTimeout(expire, s.ttlMs - age).unref() : undefined;
    if (expiry === undefined) hot = undefined;
  }

  function set(state: T, at: number): void {
    const previous = entry?.state;
    entry = { state, at };
    if (s.ttlMs > 0) {
      hot = state;
      expiry ??= setTimeout(expire, s.ttlMs).unref();
    }
    if (s.onChange && (previous === undefined || !s.same(previous, state))) s.onChange(previous, state);
  }

  function good(state: T, now: number): void {
    if (outageSince !== undefined) {
      (s.logger.info ?? s.logger.warn).call(
        s.logger,
        `koa-maintenance-mode: ${s.source.description} is readable again.`,
      );
    }
    set(state, now);
    lastGood = state;
    outageSince = undefined;
  }

  function apply(result: ReadResult<T>): void {
    const now = s.clock();
    if (result.ok) {
      good(result.state, now);
      return;
    }
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
    reads++;
    const run: Promise<boolean> = s.source
      .read()
      .then((result) => {
        s.onRead?.(result);
        // A read that raced a push is stale, unless nothing is known yet: then it is better than nothing.
        const current = started === generation || entry === undefined;
        if (current) apply(result);
        return current && result.ok && started === generation;
      })
      .finally(() => {
        if (inflight === run) inflight = undefined;
      });
    inflight = run;
    inflightGeneration = started;
    return run;
  }

  const cache: Omit<Cache<T>, 'known' | 'reads' | 'failing'> = {
    async get() {
      if (s.ttlMs > 0 && entry) {
        const age = s.clock() - entry.at;
        if (age < s.ttlMs) return entry.state;
        if (age < 2 * s.ttlMs) {
          void refresh();
          return entry.state;
        }
      }
      await refresh();
      return (entry as { state: T }).state;
    },
    fresh: () => hot,
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
  };
  return withGetters(cache, {
    known: () => entry !== undefined,
    reads: () => reads,
    failing: () => outageSince !== undefined,
  });
}
