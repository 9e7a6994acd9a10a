/**
 * The waits the control API holds open (`POST /wait`), bounded per caller and per instance: each one lists the fleet
 * every 250 ms for up to 5 minutes, so an unbounded number of them costs the instance its CPU and the store its reads
 * (200 of one token made 15 % of its own token checks answer 503). Pure: the clock is passed in.
 */

/** How many waits may be open at once. */
export interface WaitLimits {
  /** Per caller: a token, or a signed-in user's session. */
  readonly perCaller: number;
  /** For the whole instance (this API). */
  readonly total: number;
}

/** A wait let in: its slot, released once the wait ends (answered, timed out, or its client gone). */
export interface WaitSlot {
  readonly ok: true;
  release(): void;
}

/** A wait refused: which bound it met, and when a slot frees at the latest (the earliest open wait's deadline). */
export interface WaitRefusal {
  readonly ok: false;
  readonly bound: 'caller' | 'instance';
  readonly limit: number;
  readonly retryAfterSeconds: number;
}

/** The open waits of one API. */
export interface WaitSlots {
  /** Takes a slot for `caller` (a stable key) for a wait that ends by `deadlineMs` at the latest, or refuses it. */
  take(caller: string, deadlineMs: number, nowMs: number): WaitSlot | WaitRefusal;
  /** Waits open now. */
  readonly open: number;
}

interface Slot {
  readonly deadlineMs: number;
}

/** Seconds from `nowMs` until the earliest deadline of `slots` (at least 1). */
function secondsUntilFirstEnd(slots: Iterable<Slot>, nowMs: number): number {
  let first = Number.POSITIVE_INFINITY;
  for (const s of slots) first = Math.min(first, s.deadlineMs);
  return Math.max(1, Math.ceil((first - nowMs) / 1000));
}

/** Open waits counted per caller and in all, each released exactly once. */
export function createWaitSlots(limits: WaitLimits): WaitSlots {
  const byCaller = new Map<string, Set<Slot>>();
  const all = new Set<Slot>();
  return {
    take(caller, deadlineMs, nowMs) {
      const mine = byCaller.get(caller);
      if (mine !== undefined && mine.size >= limits.perCaller) {
        const retryAfterSeconds = secondsUntilFirstEnd(mine, nowMs);
        return { ok: false, bound: 'caller', limit: limits.perCaller, retryAfterSeconds };
      }
      if (all.size >= limits.total) {
        const retryAfterSeconds = secondsUntilFirstEnd(all, nowMs);
        return { ok: false, bound: 'instance', limit: limits.total, retryAfterSeconds };
      }
      const slot: Slot = { deadlineMs };
      const set = mine ?? new Set<Slot>();
      if (mine === undefined) byCaller.set(caller, set);
      set.add(slot);
      all.add(slot);
      return {
        ok: true,
        release() {
          if (!all.delete(slot)) return; // released already
          set.delete(slot);
          if (set.size === 0 && byCaller.get(caller) === set) byCaller.delete(caller);
        },
      };
    },
    get open() {
      return all.size;
    },
  };
}
