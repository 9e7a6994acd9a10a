/**
 * Occurrences of recurring windows, expanded by `rrule-temporal` (RFC 5545). The rule runs on the window's wall
 * clock (its local dates and times, with no gaps or repeats), and each local time is then placed in the zone with
 * Temporal's `compatible` rule: a local time that does not exist on a spring-forward night moves forward by the gap
 * (02:30 becomes 03:30), one that exists twice on a fall-back night is the first (summer time). So every occurrence
 * happens exactly once, and COUNT counts them all. UNTIL is applied to the placed instants.
 */
import { MaintenanceError } from '../core/errors.js';
import {
  canonicalTimeZone,
  invalidWindow,
  isLocalTime,
  type Occurrence,
  type RecurringWindow,
  type WindowDefinition,
} from '../core/windows.js';
import { buildRule, deadlineFromNow, type Rule } from './recurrence-rule.js';
import { temporal } from './temporal.js';

/** How far from now a window's first occurrence may start: further back adds nothing but work (the rule repeats). */
export const START_RANGE_YEARS = 10;
const DAY_MS = 86_400_000;
/** Occurrences passed over (ended, or over before `from`) before a walk gives up: more than a window ever has. */
const SKIPPED_MAX = 400;
/** Rules kept expanded (by their text, zone and start); past this many the memory starts afresh. */
const KEPT_RULES = 1000;

/** Told of a window whose rule cannot be expanded (one written to the store by hand): it is left out. */
export type OnInvalid = (window: RecurringWindow, err: MaintenanceError) => void;

/** A rule and the occurrences found so far: every one whose wall time is at or after `from`, in order. */
interface Expansion {
  readonly rule: Rule;
  from: number;
  /** Wall times (UTC epoch ms of the local time) and their instants, ascending. */
  walls: number[];
  starts: number[];
  /** No occurrence after the last one in `walls`. */
  done: boolean;
}

const expansions = new Map<string, Expansion | MaintenanceError>();

/** The expansion of `window`'s rule, made once per rule text, zone and start (a refusal is kept too). */
function expansionOf(window: RecurringWindow, deadline: number): Expansion {
  const key = `${window.tz}\u0000${window.start}\u0000${window.rrule}`;
  let known = expansions.get(key);
  if (known === undefined) {
    try {
      known = { rule: buildRule(window, deadline), from: Number.POSITIVE_INFINITY, walls: [], starts: [], done: false };
    } catch (err) {
      if (!(err instanceof MaintenanceError)) throw err;
      known = err;
    }
    if (expansions.size >= KEPT_RULES) expansions.clear();
    expansions.set(key, known);
  }
  if (known instanceof MaintenanceError) throw known;
  return known;
}

/** Places a wall-clock time (carried as UTC epoch ms) in the window's zone: see the module comment. */
function place(wall: number, tz: string): number {
  return temporal()
    .Instant.fromEpochMilliseconds(wall)
    .toZonedDateTimeISO('UTC')
    .toPlainDateTime()
    .toZonedDateTime(tz, { disambiguation: 'compatible' }).epochMilliseconds;
}

/** The wall-clock time in `tz` at `instant`, carried as UTC epoch ms (what the rule runs on). */
function wallOf(instant: Date, tz: string): number {
  const local = temporal().Instant.fromEpochMilliseconds(instant.getTime()).toZonedDateTimeISO(tz).toPlainDateTime();
  return local.toZonedDateTime('UTC').epochMilliseconds;
}

/** The index of the first known wall at or after `wall`, finding more occurrences first if none is known yet. */
function indexFrom(e: Expansion, wall: number): number {
  if (wall < e.from) Object.assign(e, { from: wall, walls: [], starts: [], done: false });
  let lo = 0;
  let hi = e.walls.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((e.walls[mid] as number) < wall) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 512) {
    // Occurrences long past: forget them (the expansion goes on from the last one known).
    e.walls.splice(0, lo);
    e.starts.splice(0, lo);
    e.from = wall;
    return 0;
  }
  return lo;
}

/** Finds the occurrence after the last known one; false when there is none. */
function extend(e: Expansion, window: RecurringWindow, deadline: number): boolean {
  if (e.done) return false;
  const last = e.walls[e.walls.length - 1];
  const wall = e.rule.next(last ?? e.from, last === undefined, deadline);
  const start = wall === undefined ? Number.NaN : place(wall, window.tz);
  if (wall === undefined || start > e.rule.until) {
    e.done = true;
    return false;
  }
  e.walls.push(wall);
  e.starts.push(start);
  return true;
}

const isEnded = (window: RecurringWindow, start: number) =>
  window.ended?.includes(new Date(start).toISOString()) ?? false;

/**
 * The occurrences of `window` that end after `from`, in time order (ended ones skipped): the first may be in progress
 * at `from`. Expanded from what was found before, never from DTSTART again, each step within the budget (from when
 * the walk began). Throws `ERR_MAINTENANCE_INVALID_WINDOW` for a rule that cannot be expanded.
 */
export function* occurrencesFrom(
  window: RecurringWindow,
  from: Date,
  deadline = deadlineFromNow(),
): Generator<Occurrence> {
  const e = expansionOf(window, deadline);
  const durationMs = window.durationMinutes * 60_000;
  // Start a day and the duration back on the wall clock: one in progress, and the zone's offset, are covered.
  let i = indexFrom(e, wallOf(from, window.tz) - durationMs - DAY_MS);
  for (let passed = 0; passed < SKIPPED_MAX; i++) {
    if (i >= e.walls.length && !extend(e, window, deadline)) return;
    const start = e.starts[i] as number;
    if (start + durationMs > from.getTime() && !isEnded(window, start)) {
      yield { window, start: new Date(start), end: new Date(start + durationMs) };
    } else passed++;
  }
}

/** The first `count` of {@link occurrencesFrom}. */
export function occurrencesOf(window: RecurringWindow, from: Date, count: number): Occurrence[] {
  const out: Occurrence[] = [];
  if (count < 1) return out;
  for (const o of occurrencesFrom(window, from)) if (out.push(o) >= count) break;
  return out;
}

/**
 * The occurrences of `window` as {@link occurrencesOf} gives them, or none (and `onInvalid` told) when its rule cannot
 * be expanded: a window written to the store by hand, or checked under an older version.
 */
export function usableOccurrencesOf(
  window: RecurringWindow,
  from: Date,
  count: number,
  onInvalid?: OnInvalid,
): Occurrence[] {
  try {
    return occurrencesOf(window, from, count);
  } catch (err) {
    if (!(err instanceof MaintenanceError)) throw err;
    onInvalid?.(window, err);
    return [];
  }
}

/**
 * Checks a whole definition against the calendar: the start within {@link START_RANGE_YEARS} of `now`, the rule
 * expandable within the budget, and an occurrence after `now`.
 */
export function checkRecurrence(window: RecurringWindow, now: Date): void {
  const start = Date.parse(`${window.start}Z`);
  if (!(Math.abs(start - now.getTime()) <= START_RANGE_YEARS * 365.25 * DAY_MS)) {
    invalidWindow(
      'start',
      `must be within ${START_RANGE_YEARS} years of now; got ${window.start}. A rule repeats, so a recent start on the ` +
        'same weekday or day of the month gives the same occurrences',
    );
  }
  if (occurrencesOf(window, now, 1).length === 0) {
    invalidWindow('rrule', `has no occurrence after ${now.toISOString()} (COUNT or UNTIL are in the past)`);
  }
}

/** Finds each window's next occurrences now, off the request path, so that a request finds them known. */
export function prepareWindows(windows: readonly RecurringWindow[], now: Date): void {
  for (const w of windows) usableOccurrencesOf(w, now, 3);
}

/** `start` as a local date and time: `HH:MM` is that time today in `tz`. */
function localStart(start: string, tz: string, now: Date): string {
  if (!isLocalTime(start)) return start;
  const today = temporal().Instant.fromEpochMilliseconds(now.getTime()).toZonedDateTimeISO(tz).toPlainDate();
  return `${today.toString()}T${start}`;
}

/** The window a definition makes (validated fields are the caller's); a start of `HH:MM` is that time today. */
export function windowFrom(def: WindowDefinition, id: string, now: Date): RecurringWindow {
  return {
    id,
    rrule: def.rrule.trim().replace(/^RRULE:/i, ''),
    tz: canonicalTimeZone(def.tz) ?? def.tz,
    start: localStart(def.start, canonicalTimeZone(def.tz) ?? def.tz, now),
    durationMinutes: def.durationMinutes,
    ...(def.message !== undefined ? { message: def.message } : {}),
    ...(def.scope !== undefined ? { scope: def.scope } : {}),
    ...(def.readOnly ? { readOnly: true } : {}),
    ...(def.dryRun ? { dryRun: true } : {}),
    ...(def.by !== undefined ? { by: def.by } : {}),
  };
}

/** The walk of `window` from `from`, or none (and `onInvalid` told) when its rule cannot be expanded. */
function usableWalk(window: RecurringWindow, from: Date, onInvalid?: OnInvalid): () => Occurrence | undefined {
  const walk = occurrencesFrom(window, from);
  return () => {
    try {
      return walk.next().value ?? undefined;
    } catch (err) {
      if (!(err instanceof MaintenanceError)) throw err;
      onInvalid?.(window, err);
      return undefined;
    }
  };
}

/**
 * The next `count` occurrences of `windows` ending after `from`, in order: merged window by window, so only about
 * `count` occurrences are expanded, not `count` of each window.
 */
export function upcomingOf(
  windows: readonly RecurringWindow[],
  from: Date,
  count: number,
  onInvalid?: OnInvalid,
): Occurrence[] {
  const heads = windows.map((w) => {
    const next = usableWalk(w, from, onInvalid);
    return { next, o: next() };
  });
  const out: Occurrence[] = [];
  while (out.length < count) {
    let first: (typeof heads)[number] | undefined;
    for (const h of heads) if (h.o && (!first?.o || h.o.start < first.o.start)) first = h;
    if (!first?.o) break;
    out.push(first.o);
    first.o = first.next();
  }
  return out;
}
