/**
 * Occurrences of recurring windows, expanded by `rrule-temporal` (RFC 5545). The rule runs on the window's wall
 * clock (its local dates and times, with no gaps or repeats), and each local time is then placed in the zone with
 * Temporal's `compatible` rule: a local time that does not exist on a spring-forward night moves forward by the gap
 * (02:30 becomes 03:30), one that exists twice on a fall-back night is the first (summer time). So every occurrence
 * happens exactly once, and COUNT counts them all. UNTIL is applied to the placed instants.
 */
import { RRuleTemporal } from 'rrule-temporal';
import {
  invalidWindow,
  isLocalTime,
  type Occurrence,
  type RecurringWindow,
  type WindowDefinition,
} from '../core/windows.js';
import { Temporal } from './temporal.js';

const PARTS = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'COUNT', 'UNTIL', 'WKST']);
const FREQS = new Set(['YEARLY', 'MONTHLY', 'WEEKLY', 'DAILY']);

/** A window's rule, ready to expand. */
interface Rule {
  readonly rule: RRuleTemporal;
  readonly until: number; // epoch ms, Infinity without UNTIL
  readonly window: RecurringWindow;
}

const rules = new WeakMap<RecurringWindow, Rule>();

/** Parses `rrule` (an optional `RRULE:` prefix allowed) into its parts, refusing what windows do not support. */
function partsOf(rrule: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const part of rrule
    .trim()
    .replace(/^RRULE:/i, '')
    .split(';')) {
    const [key, value] = part.split('=') as [string, string | undefined];
    const name = key.trim().toUpperCase();
    if (!PARTS.has(name) || !value) {
      invalidWindow(
        'rrule',
        `has "${part}": use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT, UNTIL and WKST`,
      );
    }
    parts.set(name, value.trim().toUpperCase());
  }
  const freq = parts.get('FREQ');
  if (!freq || !FREQS.has(freq))
    invalidWindow('rrule', `needs FREQ=YEARLY, MONTHLY, WEEKLY or DAILY; got ${freq ?? 'none'}`);
  return parts;
}

/** UNTIL as an instant: a UTC date-time (`20271231T230000Z`), or a date (the end of that day in `tz`). */
function untilOf(value: string | undefined, tz: string): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(value);
  if (!m)
    invalidWindow('rrule', `has UNTIL=${value}: use a UTC time such as 20271231T230000Z, or a date such as 20271231`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (m[4] !== undefined) return Date.UTC(y, mo - 1, d, Number(m[4]), Number(m[5]), Number(m[6]));
  return Temporal.PlainDateTime.from({ year: y, month: mo, day: d, hour: 23, minute: 59, second: 59 }).toZonedDateTime(
    tz,
  ).epochMilliseconds;
}

function ruleOf(window: RecurringWindow): Rule {
  const known = rules.get(window);
  if (known) return known;
  const parts = partsOf(window.rrule);
  const until = untilOf(parts.get('UNTIL'), window.tz);
  parts.delete('UNTIL');
  const wallStart = Temporal.PlainDateTime.from(window.start).toZonedDateTime('UTC');
  let rule: RRuleTemporal;
  try {
    const rruleString = [...parts].map(([k, v]) => `${k}=${v}`).join(';');
    rule = new RRuleTemporal({ rruleString, dtstart: wallStart, temporal: Temporal } as never);
  } catch (err) {
    invalidWindow('rrule', `is not a valid rule: ${(err as Error).message}`);
  }
  const made = { rule, until, window };
  rules.set(window, made);
  return made;
}

/** Places a wall-clock time (carried as a UTC date) in the window's zone: see the module comment. */
function place(wall: { toPlainDateTime(): Temporal.PlainDateTime }, tz: string): Date {
  return new Date(wall.toPlainDateTime().toZonedDateTime(tz, { disambiguation: 'compatible' }).epochMilliseconds);
}

/** The wall-clock time in `tz` at `instant`, carried as a UTC date (what the rule runs on). */
function wallOf(instant: Date, tz: string): Date {
  const local = Temporal.Instant.fromEpochMilliseconds(instant.getTime()).toZonedDateTimeISO(tz).toPlainDateTime();
  return new Date(local.toZonedDateTime('UTC').epochMilliseconds);
}

function occurrence(r: Rule, wall: { toPlainDateTime(): Temporal.PlainDateTime }): Occurrence | undefined {
  const start = place(wall, r.window.tz);
  if (start.getTime() > r.until) return undefined;
  return { window: r.window, start, end: new Date(start.getTime() + r.window.durationMinutes * 60_000) };
}

const isEnded = (o: Occurrence) => o.window.ended?.includes(o.start.toISOString()) ?? false;

/**
 * The occurrences of `window` that end after `from`, in time order, at most `count` (ended ones skipped): the first
 * may be in progress at `from`.
 */
export function occurrencesOf(window: RecurringWindow, from: Date, count: number): Occurrence[] {
  const r = ruleOf(window);
  const out: Occurrence[] = [];
  // Start a day and the duration back on the wall clock: one in progress, and the zone's offset, are covered.
  let cursor = new Date(wallOf(from, window.tz).getTime() - window.durationMinutes * 60_000 - 86_400_000);
  let inclusive = true;
  for (let guard = 0; out.length < count && guard < count + 400; guard++) {
    const wall = r.rule.next(cursor, inclusive);
    if (!wall) break;
    inclusive = false;
    cursor = new Date(wall.epochMilliseconds);
    const o = occurrence(r, wall);
    if (!o) break;
    if (o.end.getTime() > from.getTime() && !isEnded(o)) out.push(o);
  }
  return out;
}

/** Checks a whole definition against the calendar: the rule parses and has an occurrence after `now`. */
export function checkRecurrence(window: RecurringWindow, now: Date): void {
  if (occurrencesOf(window, now, 1).length === 0) {
    invalidWindow('rrule', `has no occurrence after ${now.toISOString()} (COUNT or UNTIL are in the past)`);
  }
}

/** `start` as a local date and time: `HH:MM` is that time today in `tz`. */
function localStart(start: string, tz: string, now: Date): string {
  if (!isLocalTime(start)) return start;
  const today = Temporal.Instant.fromEpochMilliseconds(now.getTime()).toZonedDateTimeISO(tz).toPlainDate();
  return `${today.toString()}T${start}`;
}

/** The window a definition makes (validated fields are the caller's); a start of `HH:MM` is that time today. */
export function windowFrom(def: WindowDefinition, id: string, now: Date): RecurringWindow {
  return {
    id,
    rrule: def.rrule.trim().replace(/^RRULE:/i, ''),
    tz: def.tz,
    start: localStart(def.start, def.tz, now),
    durationMinutes: def.durationMinutes,
    ...(def.message !== undefined ? { message: def.message } : {}),
    ...(def.scope !== undefined ? { scope: def.scope } : {}),
    ...(def.readOnly ? { readOnly: true } : {}),
    ...(def.dryRun ? { dryRun: true } : {}),
    ...(def.by !== undefined ? { by: def.by } : {}),
  };
}

/** The next `count` occurrences of `windows` (of `scope`, or all when `scope` is null) ending after `from`, in order. */
export function upcomingOf(
  windows: readonly RecurringWindow[],
  from: Date,
  count: number,
  scope: string | undefined | null,
): Occurrence[] {
  const all = windows.filter((w) => scope === null || w.scope === scope).flatMap((w) => occurrencesOf(w, from, count));
  return all.sort((a, b) => a.start.getTime() - b.start.getTime()).slice(0, count);
}
