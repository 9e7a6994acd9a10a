/**
 * When an Alertmanager silence is due, and what it is: while the state in force for its scope is active (not a dry
 * run), until that state's end, or — for an open end — a rolling horizon extended every step. The basis of a due
 * silence names what it was computed from (the states' revisions, the step), so every instance that sees the same
 * states claims the same name and one of them acts. Pure.
 */
import { createHash } from 'node:crypto';
import { type HistoryEntry, type StateSummary, summarize } from './history.js';
import type { SilenceConfig } from './silence-options.js';
import { isActive, type MaintenanceState } from './state.js';

/** How far ahead a silence reaches while the state in force has no end (it is extended every {@link SILENCE_STEP_MS}). */
export const SILENCE_HORIZON_MS = 3_600_000;
/** How often a silence is looked at again while maintenance lasts (and an open-ended one extended). */
export const SILENCE_STEP_MS = 900_000;

/** What the states in force ask for: no silence, or one until `endsAt` (`open`: a rolling horizon). */
export type SilenceDue =
  | { readonly active: false }
  | { readonly active: true; readonly endsAt: number; readonly open: boolean };

const stepOf = (now: number) => Math.floor(now / SILENCE_STEP_MS);

/**
 * The silence the states in force for a silence's scope ask for at `now` (the site-wide state, and the scope's own
 * state for a scoped silence): due while any of them is active and no dry run, until the latest end; a state without
 * an end (a lease's renewals count as none) makes it open-ended: `SILENCE_HORIZON_MS` ahead of the current step.
 */
export function silenceDue(states: readonly MaintenanceState[], now: number): SilenceDue {
  const at = new Date(now);
  const active = states.filter((s) => !s.dryRun && isActive(s, at));
  if (active.length === 0) return { active: false };
  const ends = active.map((s) => (s.end === undefined ? Number.NaN : Date.parse(s.end)));
  if (ends.some(Number.isNaN)) {
    return { active: true, open: true, endsAt: stepOf(now) * SILENCE_STEP_MS + SILENCE_HORIZON_MS };
  }
  return { active: true, open: false, endsAt: Math.max(...ends) };
}

/**
 * What a due silence was computed from: the store's revision when it was looked at (every write makes a new one), each
 * state's identity (its revision, else its `updatedAt`; an occurrence's window and start) and, while active, the end
 * and the step. Instances that see the same states at the same step give the same basis; a write, a boundary passed or
 * a new step gives a new one.
 */
export function silenceBasis(
  states: readonly MaintenanceState[],
  due: SilenceDue,
  now: number,
  revision: number,
): string {
  const ids = states.map((s) =>
    [s.enabled ? 'on' : 'off', s.revision ?? s.updatedAt ?? '', s.window ?? '', s.start ?? '', s.end ?? ''].join('/'),
  );
  const want = due.active ? `until:${due.endsAt}:step:${stepOf(now)}` : 'none';
  return `r${revision}|${ids.join('|')}|${want}`;
}

/** The claim that lets one instance of the fleet act on `basis` for `config`. */
export function silenceClaimName(config: SilenceConfig, basis: string): string {
  const hash = createHash('sha256').update(`${config.api}\n${config.key}\n${basis}`).digest('hex');
  return `silence:${config.key}:${hash.slice(0, 32)}`;
}

/**
 * When the silence due may change by itself: a state's start, end or lease, the next occurrence's start (`starts`),
 * and the next step while active. Undefined when nothing is ahead.
 */
export function nextSilenceLook(
  states: readonly MaintenanceState[],
  due: SilenceDue,
  now: number,
  starts: readonly number[],
): number | undefined {
  const instants = [...starts];
  for (const s of states) {
    for (const iso of [s.start, s.end, s.leaseUntil]) if (iso !== undefined) instants.push(Date.parse(iso));
  }
  if (due.active) instants.push((stepOf(now) + 1) * SILENCE_STEP_MS);
  const ahead = instants.filter((t) => t > now);
  return ahead.length === 0 ? undefined : Math.min(...ahead);
}

/** The `createdBy` of this library's silences for `config`: how any instance finds the silence in Alertmanager. */
export function silenceCreator(config: SilenceConfig): string {
  return `koa-maintenance-mode ${config.key}`;
}

/** A silence as Alertmanager lists it (the fields used here). */
export interface ListedSilence {
  readonly id: string;
  readonly status: { readonly state: string };
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
}

/** This library's silences for `config` that are not expired, newest end first. */
export function ownSilences(config: SilenceConfig, listed: readonly ListedSilence[]): ListedSilence[] {
  const creator = silenceCreator(config);
  return listed
    .filter((s) => s.createdBy === creator && s.status?.state !== 'expired')
    .sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt));
}

/**
 * The body of `POST /api/v2/silences`: a new silence from `now`, or (`existing`) the update of one, which keeps its
 * start so Alertmanager changes it in place.
 */
export function silenceBody(
  config: SilenceConfig,
  endsAt: number,
  now: number,
  existing?: Pick<ListedSilence, 'id' | 'startsAt'>,
): Record<string, unknown> {
  return {
    ...(existing ? { id: existing.id } : {}),
    matchers: config.matchers,
    startsAt: existing?.startsAt ?? new Date(now).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
    createdBy: silenceCreator(config),
    comment: config.comment,
  };
}

/** What the states in force mean for a history entry: the first active one that is no dry run, else the last. */
function summaryOf(states: readonly MaintenanceState[], now: Date): StateSummary {
  const active = states.find((s) => !s.dryRun && isActive(s, now)) ?? states[states.length - 1];
  return active === undefined ? 'off' : summarize(active, now);
}

/** A silence made or expired, as the history records it (a note: the state in force stays). */
export interface SilenceNote {
  readonly config: SilenceConfig;
  readonly id: string;
  /** The silence's end when it was made or moved; undefined when it was expired. */
  readonly endsAt?: number;
  readonly states: readonly MaintenanceState[];
  readonly now: Date;
}

/** The history entry naming a silence made (`endsAt` set) or expired. */
export function silenceEntry(n: SilenceNote): HistoryEntry {
  const summary = summaryOf(n.states, n.now);
  const where = `Alertmanager at ${n.config.shown}`;
  const reason =
    n.endsAt === undefined
      ? `alerts unsilenced: silence ${n.id} expired in ${where}`
      : `alerts silenced until ${new Date(n.endsAt).toISOString()}: silence ${n.id} in ${where}`;
  return {
    at: n.now.toISOString(),
    by: 'koa-maintenance-mode',
    source: 'silence',
    from: summary,
    to: summary,
    reason,
    ...(n.config.scope !== undefined ? { scope: n.config.scope } : {}),
    silenceId: n.id,
  };
}
