/**
 * When a cache's entry may be served without a read (see `state-cache.ts`): fresh for `ttlMs` (or less, see
 * `freshAtMost`) from when it was known to be the store's; served while a background read refreshes it up to twice
 * that; never after a stall of the event loop longer than its freshness, until a read that starts after the stall.
 * Ticks every half freshness end it and tell whether the loop is on time: a stall longer than the freshness makes the
 * next tick more than half a freshness late. `fresh()`, asked on every request, also reads the clock, since a stopped
 * process's timers are late.
 */

/** Settings of {@link createFreshness}. */
export interface FreshnessSettings {
  readonly ttlMs: number;
  /** Milliseconds clock; `performance.now` in production, a fake in tests. */
  readonly clock: () => number;
  /** Runs `fn` in `ms` (the ticks). */
  readonly schedule: (fn: () => void, ms: number) => void;
  /** When the entry held was known to be the store's; undefined while none is held. */
  readonly entryAt: () => number | undefined;
}

/** How `get()` serves the entry: as it is, as it is while a read refreshes it, or not before a read. */
export type Serving = 'fresh' | 'stale' | 'read';

/** See the module comment. */
export interface Freshness<T> {
  /** The entry's value while it is fresh; undefined otherwise. */
  readonly fresh: () => T | undefined;
  /** A value was set, known to be the store's at `at` (a read's start, a push's arrival). */
  held(value: T, at: number): void;
  /** How the entry known at `at` is served now (finding a stall, if there was one). */
  serving(at: number): Serving;
  /** Whether a value known at `at` is known after the last stall found. */
  trusted(at: number): boolean;
  /** The entry is no longer fresh (a change signal). */
  drop(): void;
  /** Keeps entries fresh for at most `ms` (never longer than `ttlMs`; no effect with `ttlMs = 0`). */
  readonly freshAtMost: (ms: number) => void;
}

/** Builds the freshness of one cache. */
export function createFreshness<T>(s: FreshnessSettings): Freshness<T> {
  /** How long an entry is fresh: `ttlMs`, or less once `freshAtMost` said so. */
  let freshMs = s.ttlMs;
  /** The entry's value until its freshness ends. */
  let hot: T | undefined;
  let freshUntil = Number.NEGATIVE_INFINITY;
  /** The last time a tick found the event loop on time (no stall longer than `freshMs` since). */
  let lastAlive = s.clock();
  /** Reads that started before this time (before a stall was found) are not served without another read. */
  let trustFrom = Number.NEGATIVE_INFINITY;
  let ticking = false;
  let due = 0;
  /** Every `freshMs / 2` while the entry may be served (younger than `2 × freshMs`): see the module comment. */
  const tick = (): void => {
    ticking = false;
    const now = s.clock();
    if (now - due <= freshMs / 2) lastAlive = now;
    if (hot !== undefined && now >= freshUntil) hot = undefined;
    const at = s.entryAt();
    if (at !== undefined && now - at < 2 * freshMs) arm(now);
  };
  const arm = (now: number): void => {
    if (ticking || freshMs <= 0) return;
    ticking = true;
    due = now + freshMs / 2;
    s.schedule(tick, freshMs / 2);
  };
  return {
    fresh: () => (hot !== undefined && s.clock() < freshUntil ? hot : undefined),
    held(value, at) {
      if (freshMs <= 0) return;
      const now = s.clock();
      freshUntil = at >= trustFrom ? at + freshMs : Number.NEGATIVE_INFINITY;
      hot = now < freshUntil ? value : undefined;
      arm(now);
    },
    serving(at) {
      if (freshMs <= 0) return 'read';
      const now = s.clock();
      const age = now - at;
      if (age < freshMs && at >= trustFrom) return 'fresh';
      if (now - lastAlive > freshMs) {
        // The loop was blocked or the process stopped for longer than `freshMs`: a change pushed meanwhile may still
        // wait in the queue, so what is held (or being read since before) is served only after a read that starts now.
        trustFrom = now;
        lastAlive = now;
        hot = undefined;
        return 'read';
      }
      return age < 2 * freshMs && at >= trustFrom ? 'stale' : 'read';
    },
    trusted: (at) => at >= trustFrom,
    drop() {
      hot = undefined;
    },
    freshAtMost(ms) {
      if (s.ttlMs > 0) freshMs = Math.min(s.ttlMs, ms);
    },
  };
}
