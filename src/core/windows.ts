/**
 * Recurring maintenance windows: their definitions (kept in the global state, so they are stored, pushed and
 * revisioned with it), the checks of the fields that need no calendar, and how an occurrence becomes the state in
 * force. Expanding a rule into occurrences is `service/recurrence.ts`. Pure.
 */
import { MaintenanceError } from './errors.js';
import type { LocalizedText } from './i18n.js';
import { checkMessage, type MaintenanceState, type RecurringWindow } from './state.js';

export type { RecurringWindow };

/**
 * Arguments of `MaintenanceService.addWindow()`: the fields of a {@link RecurringWindow}, the id optional (default a
 * generated `w-xxxxxx`), and `start` may also be `HH:MM` (that time today, then as the rule says).
 */
export type WindowDefinition = Omit<RecurringWindow, 'id' | 'ended'> & { readonly id?: string };

/** One occurrence of a window. */
export interface Occurrence {
  readonly window: RecurringWindow;
  readonly start: Date;
  readonly end: Date;
}

/** At most this many windows per store. */
export const MAX_WINDOWS = 100;
/** The longest occurrence: a week. */
export const MAX_DURATION_MINUTES = 10_080;
/** Ended occurrences kept per window. */
const ENDED_KEPT = 20;

/** Throws `ERR_MAINTENANCE_INVALID_WINDOW`: "`field` `detail`". */
export function invalidWindow(field: string, detail: string): never {
  throw new MaintenanceError('ERR_MAINTENANCE_INVALID_WINDOW', `${field} ${detail}`);
}

/** The bad fields an invalid-window error names: its own list, or the one field its message starts with. */
export function fieldProblems(
  err: MaintenanceError,
): ReadonlyArray<{ readonly field: string; readonly detail: string }> {
  return err.errors ?? [{ field: /^([A-Za-z][\w.()]*)/.exec(err.message)?.[1] ?? '', detail: err.message }];
}

/**
 * Runs every check of `checks`, each of one field, and throws one `ERR_MAINTENANCE_INVALID_WINDOW` naming the first
 * bad field in its message and every bad field in its `errors`, so a caller learns them all at once.
 */
export function checkAll(checks: ReadonlyArray<() => void>): void {
  const errors: MaintenanceError[] = [];
  for (const check of checks) {
    try {
      check();
    } catch (err) {
      if (!(err instanceof MaintenanceError)) throw err;
      errors.push(err);
    }
  }
  const [first] = errors;
  if (first === undefined) return;
  if (errors.length === 1) throw first;
  throw new MaintenanceError(first.code, first.message, { errors: errors.flatMap(fieldProblems) });
}

/** Checks the fields that need no calendar, all of them; throws `ERR_MAINTENANCE_INVALID_WINDOW` naming them. */
export function checkWindowFields(def: WindowDefinition): void {
  checkAll(fieldChecks(def));
}

/** One check per field of a window definition. */
function fieldChecks(def: WindowDefinition): Array<() => void> {
  return [
    () => checkId(def),
    () => checkRuleGiven(def),
    () => checkZone(def),
    () => checkStart(def),
    () => checkDuration(def),
    () => checkFlags(def),
    () => def.message !== undefined && checkMessage(def.message, 'ERR_MAINTENANCE_INVALID_WINDOW'),
  ];
}

function checkId(def: WindowDefinition): void {
  if (def.id !== undefined && (typeof def.id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,40}$/.test(def.id))) {
    invalidWindow(
      'id',
      `must be lower-case letters, digits and dashes (at most 41), such as "nightly"; got ${JSON.stringify(def.id)}`,
    );
  }
}

function checkRuleGiven(def: WindowDefinition): void {
  if (typeof def.rrule !== 'string' || def.rrule.trim() === '') {
    invalidWindow('rrule', 'is required: an RFC 5545 rule such as "FREQ=WEEKLY;BYDAY=SU"');
  }
}

function checkZone(def: WindowDefinition): void {
  if (canonicalTimeZone(def.tz) === undefined) {
    invalidWindow('tz', `must be an IANA time zone such as "Europe/Berlin"; got ${JSON.stringify(def.tz)}`);
  }
}

function checkStart(def: WindowDefinition): void {
  if (typeof def.start !== 'string' || !(isLocalDateTime(def.start) || isLocalTime(def.start))) {
    invalidWindow(
      'start',
      `must be the first occurrence's local time as YYYY-MM-DDTHH:MM, or HH:MM (from today on); got ${JSON.stringify(def.start)}`,
    );
  }
}

function checkDuration(def: WindowDefinition): void {
  const d = def.durationMinutes;
  if (!Number.isInteger(d) || d < 1 || d > MAX_DURATION_MINUTES) {
    invalidWindow(
      'durationMinutes',
      `must be a whole number of minutes from 1 to ${MAX_DURATION_MINUTES}; got ${JSON.stringify(d)}`,
    );
  }
}

function checkFlags(def: WindowDefinition): void {
  for (const flag of ['readOnly', 'dryRun'] as const) {
    if (def[flag] !== undefined && typeof def[flag] !== 'boolean') invalidWindow(flag, 'must be true or false');
  }
}

/**
 * The IANA database's own spelling of a time zone it names, whatever the case (`europe/berlin` is `Europe/Berlin`, a
 * link such as `US/Pacific` or `CET` is the zone it links to); undefined for anything else (an offset, a made-up name).
 */
export function canonicalTimeZone(tz: unknown): string | undefined {
  if (typeof tz !== 'string' || tz.trim() === '' || /^[+-]\d/.test(tz)) return undefined;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** `HH:MM`: a time of day (the rule runs from today). */
export function isLocalTime(s: string): boolean {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  return m !== null && Number(m[1]) < 24 && Number(m[2]) < 60;
}

function isLocalDateTime(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi));
  return probe.getUTCMonth() === mo - 1 && probe.getUTCDate() === d && h < 24 && mi < 60;
}

/** The windows of a state without any: one frozen list (read on every request, never a new array). */
const NO_WINDOWS: readonly RecurringWindow[] = Object.freeze([]);

/** The windows a state holds (none in states written before windows, and in django-maintenance-mode's files). */
export function windowsOf(state: MaintenanceState): readonly RecurringWindow[] {
  return state.windows ?? NO_WINDOWS;
}

/** `state` holding `windows` instead (the field dropped when there are none). */
export function withWindows(state: MaintenanceState, windows: readonly RecurringWindow[]): MaintenanceState {
  const { windows: _, ...rest } = state;
  return windows.length > 0 ? { ...rest, windows } : rest;
}

/** `window` with the occurrence that starts at `start` ended (kept among the most recent ones). */
export function endedOccurrence(window: RecurringWindow, start: Date): RecurringWindow {
  const ended = [...(window.ended ?? []), start.toISOString()].slice(-ENDED_KEPT);
  return { ...window, ended };
}

/** The state an occurrence puts in force: enabled from its start to its end, with the window's fields. */
export function occurrenceState(o: Occurrence): MaintenanceState {
  const w = o.window;
  return {
    enabled: true,
    start: o.start.toISOString(),
    end: o.end.toISOString(),
    ...(w.message !== undefined ? { message: w.message } : {}),
    ...(w.readOnly ? { readOnly: true } : {}),
    ...(w.dryRun ? { dryRun: true } : {}),
    updatedBy: w.by ?? `window:${w.id}`,
    window: w.id,
  };
}

/**
 * The state in force given the stored (manual) state and the occurrences of one scope's windows: a manual state that
 * is active wins; else an occurrence in progress; else a manual state scheduled ahead; else the next occurrence
 * (scheduled, so announcements and countdowns work as for any scheduled window); else the manual state.
 */
export function effectiveState(
  manual: MaintenanceState,
  current: Occurrence | undefined,
  next: Occurrence | undefined,
  active: (s: MaintenanceState) => boolean,
): MaintenanceState {
  if (manual.enabled && active(manual)) return manual;
  if (current)
    return { ...occurrenceState(current), ...(manual.revision !== undefined ? { revision: manual.revision } : {}) };
  if (manual.enabled) return manual;
  if (next)
    return { ...occurrenceState(next), ...(manual.revision !== undefined ? { revision: manual.revision } : {}) };
  return manual;
}

/** Which window an effective state comes from, if any. */
export function windowOfState(state: MaintenanceState): string | undefined {
  return state.window;
}

/** What `public.json` and the calendar feed show of an occurrence (never its author or secrets). */
export interface PublicOccurrence {
  readonly window: string;
  readonly start: string;
  readonly end: string;
  readonly message?: string | LocalizedText;
  readonly scope?: string;
  readonly readOnly?: boolean;
}

/** The public fields of `o`. */
export function publicOccurrence(o: Occurrence): PublicOccurrence {
  const w = o.window;
  return {
    window: w.id,
    start: o.start.toISOString(),
    end: o.end.toISOString(),
    ...(w.message !== undefined ? { message: w.message } : {}),
    ...(w.scope !== undefined ? { scope: w.scope } : {}),
    ...(w.readOnly ? { readOnly: true } : {}),
  };
}
