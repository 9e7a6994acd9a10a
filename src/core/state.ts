/** The stored maintenance state, its schedule window, and the formats accepted when reading it. Pure. */
import { MaintenanceError } from './errors.js';
import { LOCALE_TAG, type LocalizedText } from './i18n.js';

/** What the store holds (as JSON). */
export interface MaintenanceState {
  /** Whether maintenance is switched on. Within a schedule it is active only inside `[start, end)`. */
  readonly enabled: boolean;
  /** ISO-8601 instant from which maintenance is active. @default undefined (active at once) */
  readonly start?: string;
  /** ISO-8601 instant at which maintenance ends by itself. @default undefined (until disabled) */
  readonly end?: string;
  /** Shown on the 503 page and in JSON answers: one text, or one per language (`{ en, de, … }`). @default undefined */
  readonly message?: string | LocalizedText;
  /** ISO-8601 instant of the last change. @default undefined */
  readonly updatedAt?: string;
  /** Who made the last change (user id, username, `cli`, …). @default undefined */
  readonly updatedBy?: string;
  /** Read-only maintenance: safe methods (GET, HEAD, OPTIONS) pass, writes get the maintenance answer. @default false */
  readonly readOnly?: boolean;
  /** SHA-256 (hex) of this window's bypass secret (`maintenance-mode on --secret`); the secret itself is never stored. */
  readonly bypassHash?: string;
  /** Dry run: every rule is evaluated and reported, but no request is blocked (a rehearsal). @default false */
  readonly dryRun?: boolean;
  /**
   * Which write of the store this state is: set by the store on every write from one counter per store, so it grows
   * with every write of this scope (and of the others). Absent (read as 0) in states written before revisions and in
   * django-maintenance-mode's files. @default undefined
   */
  readonly revision?: number;
  /** ISO-8601 instant at which a leased state lapses (reads as off) unless renewed (`renewLease()`). @default undefined */
  readonly leaseUntil?: string;
  /** The lease's length in milliseconds, which `renewLease()` extends by. @default undefined */
  readonly leaseMs?: number;
  /** The recurring windows (kept in the global state only; see `addWindow()`). @default undefined (none) */
  readonly windows?: readonly RecurringWindow[];
  /** Set on a state in force computed from a recurring window's occurrence: that window's id. @default undefined */
  readonly window?: string;
}

/** A recurring window as stored. */
export interface RecurringWindow {
  /** Names the window (`window rm ID`). */
  readonly id: string;
  /** An RFC 5545 RRULE: FREQ, INTERVAL, BYDAY (with ordinals), BYMONTHDAY (negative too), BYMONTH, BYSETPOS, COUNT, UNTIL, WKST. */
  readonly rrule: string;
  /** The IANA time zone the rule and `start` are in, e.g. `Europe/Berlin`. */
  readonly tz: string;
  /** The first occurrence's local date and time in `tz`: `YYYY-MM-DDTHH:MM`. */
  readonly start: string;
  /** How long each occurrence lasts, in minutes (1–10080). */
  readonly durationMinutes: number;
  /** Shown during an occurrence. @default undefined */
  readonly message?: string | LocalizedText;
  /** Only this scope is in maintenance during an occurrence. @default undefined (the whole site) */
  readonly scope?: string;
  /** Occurrences are read-only maintenance. @default false */
  readonly readOnly?: boolean;
  /** Occurrences are dry runs (reported, nothing blocked; never announced or public). @default false */
  readonly dryRun?: boolean;
  /** Who defined it. @default undefined */
  readonly by?: string;
  /** ISO instants of occurrences ended early by `disable()` (only the recent ones are kept). @default undefined */
  readonly ended?: readonly string[];
}

/** Arguments of `MaintenanceService.enable()`. */
export interface EnableOptions {
  /** Start of the window (Date or ISO-8601 string). @default undefined (now) */
  readonly start?: Date | string;
  /** End of the window (Date or ISO-8601 string), must be after `start` and in the future. @default undefined */
  readonly end?: Date | string;
  /** Text for the page and JSON answers: one text, or one per language (`{ en: '…', de: '…' }`). @default undefined */
  readonly message?: string | LocalizedText;
  /** Recorded as `updatedBy`. @default undefined */
  readonly by?: string;
  /** Only block unsafe methods (POST, PUT, PATCH, DELETE). @default false */
  readonly readOnly?: boolean;
  /** SHA-256 (hex) of a bypass secret for this window (see `hashSecret`). @default undefined */
  readonly bypassHash?: string;
  /** Recorded in the history as what made the change. @default 'service' */
  readonly source?: string;
  /** Rehearse: decide and report every request, block none (`ctx.state.maintenanceDecision.rule === 'dry-run'`). @default false */
  readonly dryRun?: boolean;
  /** Switch this scope (a part of the site or a tenant) instead of the whole site. @default undefined (global) */
  readonly scope?: string;
  /**
   * A lease: the state lapses (reads as off everywhere) this many milliseconds from now unless renewed with
   * `renewLease()`, so a runner that dies leaves the site down for at most the lease (1000–86400000). @default undefined
   */
  readonly leaseMs?: number;
  /** Why, for the history (e.g. `run: npm run migrate`). @default undefined */
  readonly reason?: string;
}

/** Arguments of `MaintenanceService.disable()`. */
export interface DisableOptions {
  /** Recorded as `updatedBy`. @default undefined */
  readonly by?: string;
  /** Switch this scope off instead of the whole site. @default undefined (global) */
  readonly scope?: string;
  /** Recorded in the history as what made the change. @default 'service' */
  readonly source?: string;
  /** Why, for the history (e.g. `run: npm run migrate`). @default undefined */
  readonly reason?: string;
}

/**
 * Longest `message` accepted, in characters: it is copied into every history entry and every maintenance answer,
 * so it stays a short notice, not a document.
 */
export const MESSAGE_MAX_LENGTH = 1000;

/**
 * Largest whole `message` accepted, in bytes of its JSON (UTF-8), all languages together: the state, every history
 * entry and `public.json` copy it, so the number of languages cannot make them large.
 */
export const MESSAGE_MAX_BYTES = 8192;

/**
 * Whether `state` was switched on with a lease that lapsed (its runner stopped renewing it): it reads as off, and a
 * lapsed lease stays lapsed — nothing renews it, and a plain `on` starts afresh rather than bring its message back.
 */
export function leaseLapsed(state: MaintenanceState, now: Date): boolean {
  return state.enabled && state.leaseUntil !== undefined && Date.parse(state.leaseUntil) <= now.getTime();
}

/** The state when nothing is stored: maintenance off. */
export const OFF_STATE: MaintenanceState = Object.freeze({ enabled: false });

/** Whether `state` is active at `now` and really blocks requests (a dry run is active but blocks nothing). */
export function blocksRequests(state: MaintenanceState, now: Date): boolean {
  return state.dryRun !== true && isActive(state, now);
}

/**
 * Whether `state` puts the site into maintenance at `now`, honouring the `[start, end)` window and the lease (a lease
 * not renewed in time lapses: the state reads as off).
 */
export function isActive(state: MaintenanceState, now: Date): boolean {
  if (!state.enabled) return false;
  if (state.start === undefined && state.end === undefined && state.leaseUntil === undefined) return true;
  const t = now.getTime();
  const b = boundsOf(state);
  return t >= b.start && t < b.end && t < b.leaseUntil;
}

/** The instants of a state's window, parsed once per state object (a scheduled state is checked on every request). */
const bounds = new WeakMap<MaintenanceState, { start: number; end: number; leaseUntil: number }>();

function boundsOf(state: MaintenanceState) {
  let b = bounds.get(state);
  if (b === undefined) {
    const at = (iso: string | undefined, none: number) => {
      const v = iso === undefined ? Number.NaN : Date.parse(iso);
      return Number.isNaN(v) ? none : v; // as before: a bound that does not parse does not bound
    };
    b = {
      start: at(state.start, Number.NEGATIVE_INFINITY),
      end: at(state.end, Number.POSITIVE_INFINITY),
      leaseUntil: at(state.leaseUntil, Number.POSITIVE_INFINITY),
    };
    bounds.set(state, b);
  }
  return b;
}

/** The revision of `state`: 0 when it has none (written before revisions, or a django-maintenance-mode file). */
export function revisionOf(state: MaintenanceState): number {
  return state.revision ?? 0;
}

/** Bounds of `leaseMs`. */
export const LEASE_LIMITS = Object.freeze({ minMs: 1000, maxMs: 86_400_000 });

const corrupt = (detail: string): MaintenanceError =>
  new MaintenanceError(
    'ERR_MAINTENANCE_STATE_CORRUPT',
    `the maintenance state is not valid: ${detail}. Expected JSON like {"enabled":true}, or 0 / 1.`,
  );

function instantField(obj: Record<string, unknown>, name: 'start' | 'end' | 'leaseUntil'): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
    throw corrupt(`"${name}" must be an ISO-8601 string; found ${JSON.stringify(v)}`);
  }
  return v;
}

/** A stored message: one text, or an object of language tag → text. */
function messageField(obj: Record<string, unknown>): string | LocalizedText | undefined {
  const v = obj.message;
  if (v === undefined || v === null || typeof v === 'string') return v ?? undefined;
  const problem = localizedProblem(v);
  if (problem) throw corrupt(`"message" ${problem}`);
  return v as LocalizedText;
}

/** Why `v` is not a `{ [locale]: text }` object, or undefined when it is one. */
function localizedProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a string or { [locale]: text }';
  const entries = Object.entries(v);
  if (entries.length === 0) return 'must name at least one language';
  for (const [locale, text] of entries) {
    if (!LOCALE_TAG.test(locale))
      return `has ${JSON.stringify(locale)}, which is not a language tag such as "de" or "pt-BR"`;
    if (typeof text !== 'string') return `has a non-string text for ${locale}`;
  }
  return undefined;
}

function textField(obj: Record<string, unknown>, name: 'updatedAt' | 'updatedBy'): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw corrupt(`"${name}" must be a string; found ${JSON.stringify(v)}`);
  return v;
}

/** The stored recurring windows: an array of objects with the fields every window has (checked when added). */
function windowsField(obj: Record<string, unknown>): readonly RecurringWindow[] | undefined {
  const v = obj.windows;
  if (v === undefined || v === null) return undefined;
  const ok = (w: unknown) => {
    const r = w as Record<string, unknown>;
    return (
      typeof w === 'object' &&
      w !== null &&
      ['id', 'rrule', 'tz', 'start'].every((k) => typeof r[k] === 'string') &&
      typeof r.durationMinutes === 'number'
    );
  };
  if (!Array.isArray(v) || !v.every(ok)) {
    throw corrupt('"windows" must be a list of { id, rrule, tz, start, durationMinutes }');
  }
  return v.length > 0 ? (v as RecurringWindow[]) : undefined;
}

/**
 * Turns a stored value into a {@link MaintenanceState}. Accepts this library's object and
 * django-maintenance-mode's formats: `0`, `1` (also as strings and booleans) and `{"start": …, "end": …}`.
 * `undefined`/`null` mean nothing is stored (off). Anything else throws `ERR_MAINTENANCE_STATE_CORRUPT`.
 */
export function normalizeState(value: unknown): MaintenanceState {
  if (value === undefined || value === null) return OFF_STATE;
  if (value === 0 || value === '0' || value === false) return { enabled: false };
  if (value === 1 || value === '1' || value === true) return { enabled: true };
  if (typeof value !== 'object' || Array.isArray(value)) throw corrupt(`found ${JSON.stringify(value)}`);
  const obj = value as Record<string, unknown>;
  let enabled: boolean;
  if (obj.enabled === undefined) {
    // django-maintenance-mode's schedule document {"start": …, "end": …} means "on within this window".
    if (!('start' in obj) && !('end' in obj)) throw corrupt('the object has no "enabled" field');
    enabled = true;
  } else if (typeof obj.enabled === 'boolean') {
    enabled = obj.enabled;
  } else {
    throw corrupt(`"enabled" must be true or false; found ${JSON.stringify(obj.enabled)}`);
  }
  const state: { -readonly [K in keyof MaintenanceState]: MaintenanceState[K] } = { enabled };
  const start = instantField(obj, 'start');
  const end = instantField(obj, 'end');
  if (start !== undefined) state.start = start;
  if (end !== undefined) state.end = end;
  const message = messageField(obj);
  if (message !== undefined) state.message = message;
  for (const name of ['updatedAt', 'updatedBy'] as const) {
    const v = textField(obj, name);
    if (v !== undefined) state[name] = v;
  }
  for (const flag of ['readOnly', 'dryRun'] as const) {
    const v = obj[flag];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') throw corrupt(`"${flag}" must be true or false; found ${JSON.stringify(v)}`);
    if (v) state[flag] = true;
  }
  if (obj.revision !== undefined && obj.revision !== null) {
    if (!Number.isSafeInteger(obj.revision) || (obj.revision as number) < 0) {
      throw corrupt(`"revision" must be a whole number >= 0; found ${JSON.stringify(obj.revision)}`);
    }
    state.revision = obj.revision as number;
  }
  const leaseUntil = instantField(obj, 'leaseUntil');
  if (leaseUntil !== undefined) state.leaseUntil = leaseUntil;
  const windows = windowsField(obj);
  if (windows !== undefined) state.windows = windows;
  if (obj.leaseMs !== undefined && obj.leaseMs !== null) {
    if (!Number.isSafeInteger(obj.leaseMs) || (obj.leaseMs as number) <= 0) {
      throw corrupt(`"leaseMs" must be a whole number of milliseconds > 0; found ${JSON.stringify(obj.leaseMs)}`);
    }
    state.leaseMs = obj.leaseMs as number;
  }
  if (obj.bypassHash !== undefined && obj.bypassHash !== null) {
    if (typeof obj.bypassHash !== 'string' || !/^[0-9a-f]{64}$/.test(obj.bypassHash)) {
      throw corrupt('"bypassHash" must be a SHA-256 hex digest');
    }
    state.bypassHash = obj.bypassHash;
  }
  return state;
}

/** Parses the text of a state file (JSON or django's `0`/`1`, surrounding whitespace tolerated). */
export function parseStateDocument(text: string): MaintenanceState {
  const trimmed = text.trim();
  if (trimmed === '') throw corrupt('the file is empty');
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    throw corrupt(`it is not JSON (starts with ${JSON.stringify(trimmed.slice(0, 20))})`);
  }
  return normalizeState(value);
}

function toInstant(name: 'start' | 'end', v: Date | string): Date {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `${name} must be a valid Date or ISO-8601 string such as "2026-12-01T02:00:00Z"; received ${JSON.stringify(v)}.`,
    );
  }
  return d;
}

/** Builds the state written by `enable()`, validating the schedule against `now`. */
export function enabledState(opts: EnableOptions, now: Date): MaintenanceState {
  const start = opts.start === undefined ? undefined : toInstant('start', opts.start);
  const end = opts.end === undefined ? undefined : toInstant('end', opts.end);
  if (start && end && start.getTime() >= end.getTime()) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `start (${start.toISOString()}) must be before end (${end.toISOString()}); the window is [start, end).`,
    );
  }
  if (end && end.getTime() <= now.getTime()) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `end (${end.toISOString()}) is not in the future; pick a later end or omit it to stay on until disabled.`,
    );
  }
  if (opts.message !== undefined) checkMessage(opts.message);
  for (const flag of ['readOnly', 'dryRun'] as const) {
    if (opts[flag] !== undefined && typeof opts[flag] !== 'boolean') {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_INVALID_SCHEDULE',
        `${flag} must be true or false; received ${JSON.stringify(opts[flag])}.`,
      );
    }
  }
  if (opts.bypassHash !== undefined && !/^[0-9a-f]{64}$/.test(String(opts.bypassHash))) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      'bypassHash must be a SHA-256 hex digest (use hashSecret(secret)).',
    );
  }
  const leaseMs = opts.leaseMs;
  if (leaseMs !== undefined) checkLease(leaseMs);
  return withMeta(
    {
      enabled: true,
      start: start?.toISOString(),
      end: end?.toISOString(),
      message: opts.message,
      readOnly: opts.readOnly === true ? true : undefined,
      bypassHash: opts.bypassHash,
      dryRun: opts.dryRun === true ? true : undefined,
      leaseMs,
      leaseUntil: leaseMs === undefined ? undefined : new Date(now.getTime() + leaseMs).toISOString(),
    },
    now,
    opts.by,
  );
}

function checkLease(leaseMs: unknown): void {
  if (
    !Number.isInteger(leaseMs) ||
    (leaseMs as number) < LEASE_LIMITS.minMs ||
    (leaseMs as number) > LEASE_LIMITS.maxMs
  ) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `leaseMs must be a whole number of milliseconds from ${LEASE_LIMITS.minMs} to ${LEASE_LIMITS.maxMs}; received ${JSON.stringify(leaseMs)}.`,
    );
  }
}

/**
 * The state of a lease renewed at `now`: the same state, lapsing `leaseMs` from now. Throws when it has no lease, and
 * when it lapsed already: the site is back up, and a runner that was paused (not killed) must not take it down again.
 */
export function renewedState(state: MaintenanceState, now: Date): MaintenanceState {
  if (!state.enabled || state.leaseMs === undefined) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      'renewLease() renews a state switched on with enable({ leaseMs }); this one has no lease.',
    );
  }
  if (leaseLapsed(state, now)) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `renewLease() cannot renew a lease that lapsed: leaseUntil ${state.leaseUntil} is past, and the state reads as off everywhere. Switch maintenance on again with enable({ leaseMs }) (maintenance-mode on --lease) if it is still needed.`,
    );
  }
  return { ...state, leaseUntil: new Date(now.getTime() + state.leaseMs).toISOString() };
}

/**
 * Validates a message: one text, or one per language, each at most {@link MESSAGE_MAX_LENGTH} characters, and at most
 * {@link MESSAGE_MAX_BYTES} in all. The one check of a message, for a switch and for a window alike; throws
 * `MaintenanceError` with `code`.
 */
export function checkMessage(
  message: unknown,
  code: 'ERR_MAINTENANCE_INVALID_SCHEDULE' | 'ERR_MAINTENANCE_INVALID_WINDOW' = 'ERR_MAINTENANCE_INVALID_SCHEDULE',
): void {
  const problem = typeof message === 'string' ? undefined : localizedProblem(message);
  if (problem) {
    throw new MaintenanceError(code, `message ${problem}; received ${JSON.stringify(message)}.`);
  }
  const texts = typeof message === 'string' ? { text: message } : (message as LocalizedText);
  for (const [locale, text] of Object.entries(texts)) {
    if (text.length <= MESSAGE_MAX_LENGTH) continue;
    const which = typeof message === 'string' ? 'message' : `message.${locale}`;
    throw new MaintenanceError(
      code,
      `${which} is ${text.length} characters long; the limit is ${MESSAGE_MAX_LENGTH}. ` +
        'Shorten it, and link to a status page for the details.',
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(message), 'utf8');
  if (bytes > MESSAGE_MAX_BYTES) {
    throw new MaintenanceError(
      code,
      `message is ${bytes} bytes in all (${Object.keys(texts).length} language(s)); the limit is ${MESSAGE_MAX_BYTES}. ` +
        'Give fewer languages or shorter texts, and link to a status page for the details.',
    );
  }
}

/** Builds the state written by `disable()`; a schedule or message there is a mistake and throws. */
export function disabledState(opts: DisableOptions, now: Date): MaintenanceState {
  const extra = Object.keys(opts).filter(
    (k) => !['by', 'source', 'scope', 'reason'].includes(k) && (opts as Record<string, unknown>)[k] !== undefined,
  );
  if (extra.length > 0) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCHEDULE',
      `disable() takes only { by, source, scope, reason }; received ${extra.join(', ')}. To schedule maintenance use enable({ start, end }).`,
    );
  }
  return withMeta({ enabled: false }, now, opts.by);
}

function withMeta(
  base: {
    enabled: boolean;
    start?: string;
    end?: string;
    message?: string | LocalizedText;
    readOnly?: boolean;
    bypassHash?: string;
    dryRun?: boolean;
    leaseMs?: number;
    leaseUntil?: string;
  },
  now: Date,
  by: string | undefined,
): MaintenanceState {
  const out: Record<string, unknown> = { enabled: base.enabled };
  for (const k of ['start', 'end', 'message', 'readOnly', 'bypassHash', 'dryRun', 'leaseMs', 'leaseUntil'] as const)
    if (base[k] !== undefined) out[k] = base[k];
  out.updatedAt = now.toISOString();
  if (by !== undefined) out.updatedBy = String(by);
  return out as unknown as MaintenanceState;
}
