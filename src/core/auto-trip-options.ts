/** Options of `MaintenanceService.autoTrip()`: the public type, its defaults and the resolver. Pure. */
import { MaintenanceError } from './errors.js';
import type { LocalizedText } from './i18n.js';
import { hasUnprintable } from './printable.js';
import { isScopeName } from './scope.js';
import { checkMessage, LEASE_LIMITS } from './state.js';
import { invalidOption, knownEntries, type NamesEveryKey } from './validate.js';

/** What `autoTrip()` switches on: read-only maintenance (reads pass, writes get the maintenance answer) or full. */
export type AutoTripMode = 'readOnly' | 'on';

/** Options of `MaintenanceService.autoTrip()`: a health check that switches maintenance on and off by itself. */
export interface AutoTripOptions {
  /**
   * Names the check, in `by: 'auto:<name>'`, the history and `status`: 1 to 64 printable characters, unique among the
   * service's running trips (e.g. `db`).
   */
  readonly name: string;
  /**
   * The health check: resolves `true` when healthy. `false`, anything but `true`, a throw, or no answer within
   * `timeoutMs` is a failure. Gets an `AbortSignal` that aborts at `timeoutMs` (pass it to `fetch`, a query, …).
   */
  readonly check: (signal: AbortSignal) => boolean | Promise<boolean>;
  /** How often the check runs, in milliseconds (50–3600000). @default 5000 */
  readonly intervalMs?: number;
  /**
   * How long one check may take before it counts as failed, in milliseconds (10–intervalMs).
   * @default 2000 (intervalMs when that is shorter)
   */
  readonly timeoutMs?: number;
  /** Consecutive failed checks that switch maintenance on (1–1000). @default 3 */
  readonly failAfter?: number;
  /** Consecutive good checks that switch it off again (1–1000). @default 3 */
  readonly recoverAfter?: number;
  /** `'readOnly'`: safe methods pass, writes get the maintenance answer; `'on'`: every request does. @default 'readOnly' */
  readonly mode?: AutoTripMode;
  /** Shown while tripped: one text, or one per language (`{ en, de, … }`). @default undefined (the page's default text) */
  readonly message?: string | LocalizedText;
  /** Trip this scope (a part of the site, a tenant) instead of the whole site. @default undefined (the whole site) */
  readonly scope?: string;
}

/** Default values of {@link AutoTripOptions}. */
export const AUTO_TRIP_DEFAULTS = Object.freeze({
  intervalMs: 5000,
  timeoutMs: 2000,
  failAfter: 3,
  recoverAfter: 3,
  mode: 'readOnly' as AutoTripMode,
});

/** Bounds of the numeric options of {@link AutoTripOptions}. */
export const AUTO_TRIP_LIMITS = Object.freeze({
  intervalMs: { min: 50, max: 3_600_000 },
  timeoutMs: { min: 10 },
  count: { min: 1, max: 1000 },
  nameLength: 64,
});

/** {@link AutoTripOptions} after validation, defaults applied. */
export interface AutoTripConfig {
  readonly name: string;
  readonly check: (signal: AbortSignal) => boolean | Promise<boolean>;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failAfter: number;
  readonly recoverAfter: number;
  readonly mode: AutoTripMode;
  readonly message?: string | LocalizedText;
  readonly scope?: string;
  /** The lease of a trip: 3 × `intervalMs`, within `LEASE_LIMITS` (a dead tripping instance's state lapses by then). */
  readonly leaseMs: number;
}

/** The names of every option of {@link AutoTripOptions}. */
export const AUTO_TRIP_OPTION_NAMES = [
  'name',
  'check',
  'intervalMs',
  'timeoutMs',
  'failAfter',
  'recoverAfter',
  'mode',
  'message',
  'scope',
] as const satisfies readonly (keyof AutoTripOptions)[];
/** Compiles only while {@link AUTO_TRIP_OPTION_NAMES} names every option of {@link AutoTripOptions}. */
const everyOptionListed: NamesEveryKey<AutoTripOptions, typeof AUTO_TRIP_OPTION_NAMES> = true;
void everyOptionListed;

/** How long a trip's lease lasts: three check intervals, so two renewals may be missed; at least `LEASE_LIMITS.minMs`. */
export function tripLeaseMs(intervalMs: number): number {
  return Math.min(LEASE_LIMITS.maxMs, Math.max(LEASE_LIMITS.minMs, 3 * intervalMs));
}

/** A whole number in `[min, max]`, else the standard error naming `name` (milliseconds when it ends in `Ms`). */
function wholeIn(name: string, value: unknown, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    const unit = name.endsWith('Ms') ? 'of milliseconds ' : '';
    invalidOption(`autoTrip() ${name}`, `must be a whole number ${unit}from ${min} to ${max}`, value);
  }
  return value as number;
}

function checkedName(name: unknown): string {
  const max = AUTO_TRIP_LIMITS.nameLength;
  const ok =
    typeof name === 'string' && name.trim() === name && name.length >= 1 && name.length <= max && !hasUnprintable(name);
  if (!ok) {
    invalidOption(
      'autoTrip() name',
      `must be 1 to ${max} printable characters without surrounding spaces, naming the check (e.g. "db")`,
      name,
    );
  }
  return name as string;
}

function checkedMessage(message: unknown): string | LocalizedText | undefined {
  if (message === undefined) return undefined;
  try {
    checkMessage(message);
  } catch (err) {
    throw new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', `autoTrip() ${(err as Error).message}`);
  }
  return message as string | LocalizedText;
}

/** The timing and counts of `o`, defaults applied and each checked. */
function checkedTiming(o: Readonly<Record<string, unknown>>) {
  const d = AUTO_TRIP_DEFAULTS;
  const { intervalMs: span, timeoutMs: least, count } = AUTO_TRIP_LIMITS;
  const intervalMs = wholeIn('intervalMs', o.intervalMs ?? d.intervalMs, span.min, span.max);
  const timeoutMs = o.timeoutMs ?? Math.min(d.timeoutMs, intervalMs);
  if (Number.isInteger(timeoutMs) && (timeoutMs as number) > intervalMs) {
    invalidOption(
      'autoTrip() timeoutMs',
      `must not exceed intervalMs (${intervalMs}): one check runs at a time, so give it less time than the interval, or raise intervalMs`,
      timeoutMs,
    );
  }
  return {
    intervalMs,
    timeoutMs: wholeIn('timeoutMs', timeoutMs, least.min, intervalMs),
    failAfter: wholeIn('failAfter', o.failAfter ?? d.failAfter, count.min, count.max),
    recoverAfter: wholeIn('recoverAfter', o.recoverAfter ?? d.recoverAfter, count.min, count.max),
  };
}

/**
 * Validates the options of `autoTrip()` when it is called: each bad one throws `ERR_MAINTENANCE_INVALID_OPTION`
 * naming it and the fix. `timeoutMs` defaults to the smaller of 2000 and `intervalMs`.
 */
export function resolveAutoTripOptions(input: AutoTripOptions): AutoTripConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption('autoTrip() options', 'must be an object such as { name: "db", check: async () => true }', input);
  }
  const o = knownEntries(input, AUTO_TRIP_OPTION_NAMES, 'autoTrip()');
  const name = checkedName(o.name);
  if (typeof o.check !== 'function') {
    invalidOption('autoTrip() check', 'must be a function resolving true when healthy, false when not', o.check);
  }
  const mode = o.mode ?? AUTO_TRIP_DEFAULTS.mode;
  if (mode !== 'readOnly' && mode !== 'on') {
    invalidOption(
      'autoTrip() mode',
      'must be "readOnly" (writes blocked, reads served) or "on" (everything blocked)',
      mode,
    );
  }
  if (o.scope !== undefined && !isScopeName(o.scope)) {
    invalidOption(
      'autoTrip() scope',
      'must be a scope name of 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (e.g. "billing"), or left out for the whole site',
      o.scope,
    );
  }
  const timing = checkedTiming(o);
  const message = checkedMessage(o.message);
  return Object.freeze({
    name,
    check: o.check as AutoTripConfig['check'],
    ...timing,
    mode: mode as AutoTripMode,
    ...(message !== undefined ? { message } : {}),
    ...(o.scope !== undefined ? { scope: o.scope as string } : {}),
    leaseMs: tripLeaseMs(timing.intervalMs),
  });
}
