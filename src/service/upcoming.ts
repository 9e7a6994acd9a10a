/**
 * The next occurrences a service shows (`upcoming()`, `public.json`, `windows.ics`, the status page, the control API),
 * computed once per stored state, question and occurrence boundary: a feed request reads a list, never expands rules.
 * A window whose rule cannot be expanded (written to the store by hand) is left out and logged once.
 */
import type { MaintenanceState } from '../core/state.js';
import { type Occurrence, windowsOf } from '../core/windows.js';
import type { MaintenanceLogger } from '../store/state-store.js';
import { type OnInvalid, prepareWindows } from './recurrence.js';
import { upcomingWindows } from './window-list.js';

/** What `upcoming()` is asked. */
export interface UpcomingOptions {
  readonly from?: Date;
  readonly count?: number;
  readonly scope?: string;
  readonly dryRuns?: boolean;
}

/** See the module comment. */
export interface Upcoming {
  /** The next occurrences of the windows `state` holds (a fresh array the caller may keep). */
  of(state: MaintenanceState, options: UpcomingOptions): Occurrence[];
  /** Told of a window left out: logs it once per rule. */
  readonly onInvalid: OnInvalid;
  /** Expands the windows of a state that just arrived, off the request path (on the next turn of the loop). */
  prepare(state: MaintenanceState): void;
}

/** Questions kept; past this many (a scope per request, say) the memory starts afresh. */
const KEPT = 64;

interface Kept {
  readonly state: MaintenanceState;
  readonly until: number;
  readonly list: readonly Occurrence[];
}

/** Builds the memory of one service; `clock` for tests. */
export function createUpcoming(logger: MaintenanceLogger, clock: () => number = Date.now): Upcoming {
  const kept = new Map<string, Kept>();
  const told = new Set<string>();
  const onInvalid: OnInvalid = (window, err) => {
    const key = `${window.id}\u0000${window.rrule}\u0000${window.start}`;
    if (told.has(key)) return;
    told.add(key);
    logger.warn(`koa-maintenance-mode: window ${window.id} is left out: ${err.message}`);
  };
  return {
    onInvalid,
    of(state, options) {
      if (options.from !== undefined) return upcomingWindows(windowsOf(state), options, onInvalid);
      const now = clock();
      const key = `${options.count ?? 10}\u0000${options.scope ?? ''}\u0000${options.dryRuns !== false}`;
      const memo = kept.get(key);
      if (memo?.state === state && now < memo.until) return memo.list.slice();
      const list = upcomingWindows(windowsOf(state), { ...options, from: new Date(now) }, onInvalid);
      // The list changes when one of its occurrences ends (the next one then comes in) or the state does.
      const until = list.reduce((first, o) => Math.min(first, o.end.getTime()), Number.POSITIVE_INFINITY);
      if (kept.size >= KEPT) kept.clear();
      kept.set(key, { state, until, list });
      return list.slice();
    },
    prepare(state) {
      const windows = windowsOf(state);
      if (windows.length === 0) return;
      setImmediate(() => prepareWindows(windows, new Date(clock()))).unref();
    },
  };
}
