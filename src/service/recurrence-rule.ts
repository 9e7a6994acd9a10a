/**
 * A window's rule, parsed and expanded by `rrule-temporal` (RFC 5545) within a budget, so that no rule and no start
 * can hold the event loop: the rule runs without COUNT (so the library may jump ahead in whole periods instead of
 * walking from DTSTART); COUNT becomes the wall time of the last occurrence, found once per rule within
 * {@link EXPANSION_BUDGET_MS}; each call to the library is capped in periods, and a rule whose next occurrence lies
 * beyond the cap is followed cap by cap until the budget is spent. A rule that cannot be expanded within the budget, or
 * that the library refuses, is an invalid window (`ERR_MAINTENANCE_INVALID_WINDOW` naming `rrule`), never a 500.
 */
import { performance } from 'node:perf_hooks';
import { RRuleTemporal } from 'rrule-temporal';
import { toText } from 'rrule-temporal/totext';
import { invalidWindow, type RecurringWindow } from '../core/windows.js';
import { temporal } from './temporal.js';

/** CPU time one rule may take to find its COUNT, or its next occurrence, before it is refused. */
export const EXPANSION_BUDGET_MS = 50;
/** Periods (days, weeks, months or years) one library call may scan before it gives up and is moved on. */
const PERIOD_CAP = 1000;
/** Candidates one library call may weigh (BYSETPOS rules weigh many per period). */
const CANDIDATE_CAP = 1500;
/** The shortest length of each FREQ's period: how far a capped call has looked at least, in periods. */
const PERIOD_MS: Record<string, number> = {
  YEARLY: 365 * 86_400_000,
  MONTHLY: 28 * 86_400_000,
  WEEKLY: 7 * 86_400_000,
  DAILY: 86_400_000,
};
/** The most days one period holds: a capped call has weighed at least CANDIDATE_CAP / this many periods. */
const PERIOD_DAYS: Record<string, number> = { YEARLY: 366, MONTHLY: 31, WEEKLY: 7, DAILY: 1 };
const PARTS = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'COUNT', 'UNTIL', 'WKST']);

/** A window's rule, ready to expand: wall-clock times are carried as UTC epoch milliseconds. */
export interface Rule {
  /** The wall time of the first occurrence at or after `wall` (after it unless `inclusive`), within the budget. */
  next(wall: number, inclusive: boolean, deadline: number): number | undefined;
  /** UNTIL as an instant (epoch ms), Infinity without. */
  readonly until: number;
}

/** The end of a budget that starts now. */
export const deadlineFromNow = (): number => performance.now() + EXPANSION_BUDGET_MS;

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
  if (!freq || !(freq in PERIOD_MS))
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
  return temporal()
    .PlainDateTime.from({ year: y, month: mo, day: d, hour: 23, minute: 59, second: 59 })
    .toZonedDateTime(tz).epochMilliseconds;
}

function libraryRule(parts: ReadonlyMap<string, string>, start: string): RRuleTemporal {
  const rruleString = [...parts].map(([k, v]) => `${k}=${v}`).join(';');
  const dtstart = temporal().PlainDateTime.from(start).toZonedDateTime('UTC');
  try {
    return new RRuleTemporal({
      rruleString,
      dtstart,
      maxIterations: PERIOD_CAP,
      maxCandidateEvaluations: CANDIDATE_CAP,
    } as never);
  } catch (err) {
    return invalidWindow('rrule', `is not a valid rule: ${(err as Error).message}`);
  }
}

const overBudget = (): never =>
  invalidWindow(
    'rrule',
    `has no occurrence found within ${EXPANSION_BUDGET_MS} ms of search: its dates never come (such as February 30) ` +
      'or come too rarely',
  );

/** Whether `err` is the library's cap on periods or candidates (anything else is a rule it refuses). */
const isCap = (err: unknown) => /Maximum (iterations|candidate)/i.test(String((err as Error)?.message));

/** How many periods a capped call has surely scanned without finding an occurrence. */
function periodsScanned(err: unknown, freq: string): number {
  if (/Maximum iterations/i.test(String((err as Error)?.message))) return PERIOD_CAP - 2;
  return Math.max(1, Math.floor(CANDIDATE_CAP / (PERIOD_DAYS[freq] as number)) - 2);
}

/**
 * The wall time of the last of COUNT occurrences, walked from DTSTART (COUNT counts from there) within the budget.
 * Throws naming `rrule` when the budget ends first: such a rule should say UNTIL.
 */
function lastOfCount(parts: ReadonlyMap<string, string>, start: string, count: string, deadline: number): number {
  const withCount = libraryRule(parts, start);
  let last: number | undefined;
  let seen = 0;
  let stopped = false;
  try {
    withCount.all((wall) => {
      last = wall.epochMilliseconds;
      seen++;
      stopped = performance.now() > deadline;
      return !stopped;
    });
  } catch (err) {
    if (!isCap(err)) invalidWindow('rrule', `is not a valid rule: ${(err as Error).message}`);
    stopped = seen > 0;
  }
  if (stopped && seen < Number(count)) {
    invalidWindow(
      'rrule',
      `has COUNT=${count}: more occurrences than can be expanded within ${EXPANSION_BUDGET_MS} ms ` +
        `(${seen} were); give UNTIL instead, e.g. UNTIL=20281231`,
    );
  }
  return last ?? Number.NEGATIVE_INFINITY;
}

/** Checks a rule's text alone (its parts, FREQ and UNTIL), before any calendar: throws naming `rrule`. */
export function checkRuleText(rrule: string): void {
  untilOf(partsOf(rrule).get('UNTIL'), 'UTC');
}

/** Builds the rule of `window` (its start a local date-time); throws `ERR_MAINTENANCE_INVALID_WINDOW` naming `rrule`. */
export function buildRule(window: RecurringWindow, deadline: number): Rule {
  const parts = partsOf(window.rrule);
  const until = untilOf(parts.get('UNTIL'), window.tz);
  parts.delete('UNTIL');
  const count = parts.get('COUNT');
  parts.delete('COUNT');
  const lastWall =
    count === undefined
      ? Number.POSITIVE_INFINITY
      : lastOfCount(new Map([...parts, ['COUNT', count]]), window.start, count, deadline);
  const rule = libraryRule(parts, window.start);
  const freq = parts.get('FREQ') as string;
  const periodMs = Number(parts.get('INTERVAL') ?? 1) * (PERIOD_MS[freq] as number);
  return {
    until,
    next(wall, inclusive, end) {
      let at = wall;
      let inc = inclusive;
      for (;;) {
        const began = performance.now();
        let found: number | undefined;
        try {
          found = rule.next(new Date(at), inc)?.epochMilliseconds;
        } catch (err) {
          if (!isCap(err)) invalidWindow('rrule', `is not a valid rule: ${(err as Error).message}`);
          // Another capped call would cost about as much as this one: refuse before the budget is overrun.
          const ended = performance.now();
          if (ended + (ended - began) > end) overBudget();
          at += periodsScanned(err, freq) * periodMs; // the capped call found nothing in the periods it scanned
          inc = true;
          continue;
        }
        return found === undefined || found > lastWall ? undefined : found;
      }
    },
  };
}

/** The rule of `window` as the library holds it, in the window's zone: what a description is made from. */
function ruleInZone(window: RecurringWindow): RRuleTemporal {
  const rruleString = [...partsOf(window.rrule)].map(([k, v]) => `${k}=${v}`).join(';');
  const dtstart = temporal().PlainDateTime.from(window.start).toZonedDateTime(window.tz);
  return new RRuleTemporal({ rruleString, dtstart } as never);
}

/** The languages rule descriptions come in. */
export const RULE_TEXT_LANGUAGES: readonly string[] = ['en', 'de', 'es', 'fr', 'zh', 'hi', 'ar', 'he'];
const texts = new Map<string, string>();

/**
 * A window's rule as people read it, in `language` (one of {@link RULE_TEXT_LANGUAGES}, else English), with its zone:
 * "every month on the last day of the month at 10 PM America/New_York". The raw rule when it cannot be described.
 */
export function describeRule(window: RecurringWindow, language = 'en'): string {
  const key = `${language}\u0000${window.tz}\u0000${window.start}\u0000${window.rrule}`;
  let text = texts.get(key);
  if (text === undefined) {
    try {
      const lang = RULE_TEXT_LANGUAGES.includes(language) ? language : 'en';
      text = `${toText(ruleInZone(window), lang, { excludeTzAbbreviation: true })} ${window.tz}`;
    } catch {
      text = window.rrule;
    }
    if (texts.size >= 1000) texts.clear();
    texts.set(key, text);
  }
  return text;
}
