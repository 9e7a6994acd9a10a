/** Window operations on the list stored in the global state: add, remove, end what is in progress, list ahead. */
import { MaintenanceError } from '../core/errors.js';
import {
  checkAll,
  checkWindowFields,
  endedOccurrence,
  fieldProblems,
  invalidWindow,
  MAX_WINDOWS,
  type Occurrence,
  type RecurringWindow,
  type WindowDefinition,
} from '../core/windows.js';
import { checkRecurrence, type OnInvalid, upcomingOf, usableOccurrencesOf, windowFrom } from './recurrence.js';
import { checkRuleText } from './recurrence-rule.js';

/** `windows` with the window `def` defines (checked: fields, calendar, a future occurrence, the id free, the limit). */
export function addedWindow(
  windows: readonly RecurringWindow[],
  def: WindowDefinition,
  now: Date,
): { windows: RecurringWindow[]; window: RecurringWindow } {
  if (typeof def !== 'object' || def === null)
    invalidWindow('addWindow()', 'takes { rrule, tz, start, durationMinutes }');
  checkDefinition(def);
  if (windows.length >= MAX_WINDOWS)
    invalidWindow('addWindow()', `refused: ${MAX_WINDOWS} windows are defined already`);
  const id = def.id ?? `w-${Math.random().toString(36).slice(2, 8)}`;
  if (windows.some((w) => w.id === id))
    invalidWindow('id', `"${id}" is taken: remove that window first, or pick another id`);
  const window = windowFrom(def, id, now);
  checkRecurrence(window, now);
  return { windows: [...windows, window], window };
}

/** Checks what needs no calendar: every field, and the rule's text; one error naming every bad field. */
function checkDefinition(def: WindowDefinition): void {
  checkAll([() => checkWindowFields(def), () => typeof def.rrule === 'string' && checkRuleText(def.rrule)]);
}

/**
 * Every problem of a window definition that needs no calendar (its fields and its rule's text), one per field, for
 * answers that name them all at once (the control API); empty when there is none.
 */
export function windowFieldProblems(def: WindowDefinition): Array<{ field: string; detail: string }> {
  try {
    checkDefinition(def);
    return [];
  } catch (err) {
    if (!(err instanceof MaintenanceError)) throw err;
    return [...fieldProblems(err)];
  }
}

/** `windows` without `id`; throws naming the ids there are. */
export function withoutWindow(windows: readonly RecurringWindow[], id: string): RecurringWindow[] {
  if (!windows.some((w) => w.id === id)) {
    const ids = windows.map((w) => w.id).join(', ') || 'none';
    invalidWindow('id', `"${id}" names no window (defined: ${ids})`);
  }
  return windows.filter((w) => w.id !== id);
}

/** The occurrence of `window` in progress at `now`, if any. */
function inProgress(window: RecurringWindow, now: Date): Occurrence | undefined {
  const [first] = usableOccurrencesOf(window, now, 1);
  return first && first.start.getTime() <= now.getTime() ? first : undefined;
}

/**
 * `windows` with the occurrences in progress at `now` of `scope` (site-wide windows when undefined) ended, and the
 * history's reason; undefined when none is in progress.
 */
export function endOccurrences(
  windows: readonly RecurringWindow[],
  scope: string | undefined,
  now: Date,
): { windows: RecurringWindow[]; reason: string } | undefined {
  const ended: string[] = [];
  const next = windows.map((w) => {
    const o = w.scope === scope ? inProgress(w, now) : undefined;
    if (!o) return w;
    ended.push(`${w.id} (${o.start.toISOString()})`);
    return endedOccurrence(w, o.start);
  });
  if (ended.length === 0) return undefined;
  return { windows: next, reason: `ended the occurrence of window ${ended.join(', ')}; the window recurs` };
}

/** The next `count` occurrences (default 10) from `from` (default now), of `scope` and site-wide when given; `dryRuns: false` leaves dry runs out. */
export function upcomingWindows(
  windows: readonly RecurringWindow[],
  options: { from?: Date; count?: number; scope?: string; dryRuns?: boolean },
  onInvalid?: OnInvalid,
): Occurrence[] {
  const count = options.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    invalidWindow('count', 'must be a whole number from 1 to 1000');
  const from = options.from ?? new Date();
  const mine = windows.filter(
    (w) =>
      (options.scope === undefined || w.scope === undefined || w.scope === options.scope) &&
      (options.dryRuns !== false || !w.dryRun),
  );
  return upcomingOf(mine, from, count, onInvalid);
}
