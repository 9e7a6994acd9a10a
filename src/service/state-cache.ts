/**
 * The in-memory state of one service, and the one place that decides what a store failure means.
 * - At most one store read per `ttlMs`: fresh entries are served from memory; an entry between `ttlMs` and
 *   `2 × ttlMs` old is served while one background read refreshes it; an older one (idle process) waits for a read.
 * - Pushed changes (`accept`) and signals (`invalidate`) update it at once; a read that started before a push is
 *   discarded, so a slow read can never overwrite a newer state.
 * - A failed read keeps the last good state for `ttlMs` after the outage began, then `fallbackValue`; while the store
 *   is down it is probed at most once per `ttlMs` (the circuit breaker), in the background, and recovers by itself.
 * `ttlMs = 0` disables caching: every `get()` reads, and a failure yields `fallbackValue` at once.
 */
import type { MaintenanceState } from '../core/state.js';
import { OFF_STATE } from '../core/state.js';
import type { MaintenanceLogger, ReadResult, StateStore } from '../store/state-store.js';

/** Settings of {@link createStateCache}. */
export interface StateCacheSettings {
  readonly store: StateStore;
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

const FIELDS = ['enabled', 'start', 'end', 'message', 'updatedAt', 'updatedBy', 'readOnly', 'bypassHash'] as const;

/** Whether two states are the same document. */
export function sameState(a: MaintenanceState, b: MaintenanceState): boolean {
  return FIELDS.every((k) => a[k] === b[k]);
}

/** See the module comment. */
export interface StateCache {
  get(): Promise<MaintenanceState>;
  /** The entry when it is fresh (no read needed), synchronously; undefined otherwise. */
  fresh(): MaintenanceState | undefined;
  peek(): MaintenanceState;
  accept(state: MaintenanceState): void;
  invalidate(): void;
  readThrough(): Promise<ReadResult>;
  /** Number of store reads so far (for benchmarks and tests). */
  readonly reads: number;
}

/** Builds the cache of one service. */
export function createStateCache(s: StateCacheSettings): StateCache {
  let entry: { state: MaintenanceState; at: number } | undefined;
  let lastGood: MaintenanceState | undefined;
  let outageSince: number | undefined;
  let generation = 0;
  let inflight: Promise<void> | undefined;
  let inflightGeneration = -1;
  let reads = 0;

  function set(state: MaintenanceState, at: number): void {
    const previous = entry?.state;
    entry = { state, at };
    if (s.onChange && (previous === undefined || !sameState(previous, state))) s.onChange(previous, state);
  }

  function good(state: MaintenanceState, now: number): void {
    if (outageSince !== undefined) {
      (s.logger.info ?? s.logger.warn).call(
        s.logger,
        `koa-maintenance-mode: ${s.store.description} is readable again.`,
      );
    }
    set(state, now);
    lastGood = state;
    outageSince = undefined;
  }

  function apply(result: ReadResult): void {
    const now = s.clock();
    if (result.ok) {
      good(result.state, now);
      return;
    }
    if (outageSince === undefined) {
      outageSince = now;
      const keep = lastGood !== undefined && s.ttlMs > 0 ? `the last known state for ${s.ttlMs} ms, then ` : '';
      s.logger.warn(
        `koa-maintenance-mode: cannot read the maintenance state (${result.error.message}); ` +
          `using ${keep}fallbackValue=${s.fallbackValue} until it can be read again.`,
      );
    }
    const grace = lastGood !== undefined && now - outageSince < s.ttlMs;
    set(grace ? (lastGood as MaintenanceState) : { enabled: s.fallbackValue }, now);
  }

  /** One read at a time per generation; a read from before a push or signal is left to finish and ignored. */
  function refresh(): Promise<void> {
    if (inflight && inflightGeneration === generation) return inflight;
    const started = generation;
    reads++;
    const run: Promise<void> = s.store
      .read()
      .then((result) => {
        s.onRead?.(result);
        // A read that raced a push is stale, unless nothing is known yet: then it is better than nothing.
        if (started === generation || entry === undefined) apply(result);
      })
      .finally(() => {
        if (inflight === run) inflight = undefined;
      });
    inflight = run;
    inflightGeneration = started;
    return run;
  }

  return {
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
      return (entry as { state: MaintenanceState }).state;
    },
    fresh: () => (entry !== undefined && s.ttlMs > 0 && s.clock() - entry.at < s.ttlMs ? entry.state : undefined),
    peek: () => entry?.state ?? OFF_STATE,
    accept(state) {
      generation++;
      good(state, s.clock());
    },
    invalidate() {
      generation++;
      if (entry) entry = { state: entry.state, at: Number.NEGATIVE_INFINITY };
      void refresh();
    },
    async readThrough() {
      reads++;
      const result = await s.store.read();
      s.onRead?.(result);
      if (result.ok) this.accept(result.state);
      return result;
    },
    get reads() {
      return reads;
    },
  };
}
