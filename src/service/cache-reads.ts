/**
 * How a cache reads (see `state-cache.ts`): one read at a time per generation, a new generation at each push or change
 * signal, and a wait for a read whose entry can be served.
 */
import type { ReadResult } from '../store/state-store.js';

/** What the reads use of the cache's settings. */
export interface ReadSettings<T> {
  readonly source: { read(): Promise<ReadResult<T>> };
  /** Milliseconds clock (when a read started). */
  readonly clock: () => number;
  /** Called after every read, with its result. */
  readonly onRead?: (result: ReadResult<T>) => void;
}

/** The reads of one cache. */
export interface Reads {
  /** Reads once per generation; resolves whether the result was applied and was a good read. */
  readonly refresh: () => Promise<boolean>;
  /** A push or a signal: reads that started before it are stale. */
  supersede(): void;
  /** Counts a read made outside the generations (`readThrough`). */
  countOne(): void;
  /** Store reads so far. */
  readonly count: () => number;
}

/**
 * The reads of one cache: one at a time per generation. A push or a change signal starts a new generation (a read
 * from before it is left to finish and ignored, unless nothing is known yet: then it is better than nothing).
 */
export function createReads<T>(
  s: ReadSettings<T>,
  apply: (result: ReadResult<T>, startedAt: number) => void,
  empty: () => boolean,
): Reads {
  let generation = 0;
  let inflight: Promise<boolean> | undefined;
  let inflightGeneration = -1;
  let count = 0;
  /** Reads once per generation; resolves whether the result was applied and was a good read. */
  const refresh = (): Promise<boolean> => {
    if (inflight && inflightGeneration === generation) return inflight;
    const started = generation;
    const startedAt = s.clock();
    count++;
    const run: Promise<boolean> = s.source
      .read()
      .then((result) => {
        s.onRead?.(result);
        const current = started === generation || empty();
        if (current) apply(result, startedAt);
        return current && result.ok && started === generation;
      })
      .finally(() => {
        if (inflight === run) inflight = undefined;
      });
    inflight = run;
    inflightGeneration = started;
    return run;
  };
  return {
    refresh,
    supersede() {
      generation++;
    },
    countOne() {
      count++;
    },
    count: () => count,
  };
}

/**
 * Waits for a read, and returns the entry it leaves. One that started before a stall was found is followed by one that
 * starts now, and so is one discarded because a change signal came meanwhile (a burst of file events after a stall):
 * the entry it leaves is the invalidated one. Bounded: a store that keeps signalling gets the last entry after a few
 * reads.
 */
export async function readApplied<T>(
  refresh: () => Promise<boolean>,
  trusted: (at: number) => boolean,
  entry: () => { state: T; at: number },
): Promise<T> {
  for (let tries = 0; tries < 4; tries++) {
    await refresh();
    const { at } = entry();
    if (trusted(at) && at !== Number.NEGATIVE_INFINITY) break;
  }
  return entry().state;
}
