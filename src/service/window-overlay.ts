/**
 * The state in force with recurring windows: the stored states overlaid with the occurrence in progress or next, per
 * scope. Computed from memory and kept until the next boundary (an occurrence starting or ending, the manual state's
 * start or end): a request costs an identity check and a clock read, never a recurrence expansion.
 */
import { isActive, type MaintenanceState, OFF_STATE } from '../core/state.js';
import { effectiveState, type Occurrence, type RecurringWindow, windowsOf } from '../core/windows.js';
import { type OnInvalid, usableOccurrencesOf } from './recurrence.js';

/** Recomputed at least this often (a clock change, a rule's later occurrences). */
const MAX_KEEP_MS = 60_000;

/** The overlay of one service. */
export interface WindowOverlay {
  /** The global state in force given the stored one (the same object when no site-wide window is defined). */
  global(stored: MaintenanceState): MaintenanceState;
  /** The scope table in force given the stored global state (which holds the windows) and table. */
  table(
    storedGlobal: MaintenanceState,
    table: ReadonlyMap<string, MaintenanceState>,
  ): ReadonlyMap<string, MaintenanceState>;
}

interface Computed<T> {
  readonly value: T;
  readonly until: number;
}

/**
 * The occurrence in progress and the next one among `windows` (only when it starts within `horizon`: further ahead,
 * nothing on a request needs it, and a scheduled state costs a request more than none), and when that answer changes.
 */
function schedule(windows: readonly RecurringWindow[], manual: MaintenanceState, at: At) {
  const { now, horizon } = at;
  let current: Occurrence | undefined;
  let next: Occurrence | undefined;
  let until = now + MAX_KEEP_MS;
  for (const w of windows) {
    for (const o of usableOccurrencesOf(w, new Date(now), 2, at.onInvalid)) {
      const s = o.start.getTime();
      if (s <= now) {
        if (!current || s < current.start.getTime()) current = o;
        until = Math.min(until, o.end.getTime());
      } else if (s - now > horizon) {
        until = Math.min(until, s - horizon); // it comes within the horizon then
      } else {
        if (!next || s < next.start.getTime()) next = o;
        until = Math.min(until, s, o.end.getTime());
      }
    }
  }
  for (const edge of [manual.start, manual.end]) {
    const t = edge === undefined ? Number.NaN : Date.parse(edge);
    if (t > now) until = Math.min(until, t);
  }
  return { current, next, until };
}

function inForce(windows: readonly RecurringWindow[], manual: MaintenanceState, at: At): Computed<MaintenanceState> {
  const { current, next, until } = schedule(windows, manual, at);
  const now = new Date(at.now);
  return { value: effectiveState(manual, current, next, (s) => isActive(s, now)), until };
}

type Table = ReadonlyMap<string, MaintenanceState>;
/** When the overlay is computed: the time, the announce horizon, and who hears of a rule left out. */
interface At {
  readonly now: number;
  readonly horizon: number;
  readonly onInvalid?: OnInvalid;
}

/** The scope table in force: each scope with windows overlaid, and when that answer changes. */
function tableInForce(windows: readonly RecurringWindow[], table: Table, at: At): Computed<Table> {
  const byScope = new Map<string, RecurringWindow[]>();
  for (const w of windows) if (w.scope !== undefined) byScope.set(w.scope, [...(byScope.get(w.scope) ?? []), w]);
  if (byScope.size === 0) return { value: table, until: Number.POSITIVE_INFINITY };
  let until = Number.POSITIVE_INFINITY;
  const out = new Map(table);
  for (const [scope, ws] of byScope) {
    const computed = inForce(ws, table.get(scope) ?? OFF_STATE, at);
    until = Math.min(until, computed.until);
    if (computed.value.enabled) out.set(scope, computed.value);
  }
  return { value: out, until };
}

/**
 * Builds the overlay of one service. `horizon()`: how long before its start the next occurrence is put in force as a
 * scheduled state (the longest `announceBeforeSeconds` of the service's middleware); `clock` for tests.
 */
export function createWindowOverlay(
  horizon: () => number,
  onInvalid?: OnInvalid,
  clock: () => number = Date.now,
): WindowOverlay {
  let globalMemo: { stored: MaintenanceState; horizon: number; result: Computed<MaintenanceState> } | undefined;
  let tableMemo: { global: MaintenanceState; table: Table; horizon: number; result: Computed<Table> } | undefined;
  return {
    global(stored) {
      const windows = windowsOf(stored);
      if (windows.length === 0) return stored;
      const now = clock();
      const h = horizon();
      const memo = globalMemo;
      if (memo?.stored === stored && memo.horizon === h && now < memo.result.until) return memo.result.value;
      const siteWide = windows.filter((w) => w.scope === undefined);
      const result =
        siteWide.length === 0
          ? { value: stored, until: Number.POSITIVE_INFINITY }
          : inForce(siteWide, stored, { now, horizon: h, onInvalid });
      globalMemo = { stored, horizon: h, result };
      return result.value;
    },
    table(global, table) {
      const windows = windowsOf(global);
      if (windows.length === 0) return table;
      const now = clock();
      const h = horizon();
      const memo = tableMemo;
      if (memo?.global === global && memo.table === table && memo.horizon === h && now < memo.result.until) {
        return memo.result.value;
      }
      const result = tableInForce(windows, table, { now, horizon: h, onInvalid });
      tableMemo = { global, table, horizon: h, result };
      return result.value;
    },
  };
}
