/**
 * The rules of a self-tripping maintenance (`autoTrip()`): how check outcomes are counted, when a trip switches on,
 * renews its lease, switches off or stands aside, and whether a stored state is the trip's own. Pure: the timer, the
 * check, the claim and the writes are the service's (`service/auto-trip.ts`).
 */
import type { HistoryEntry } from './history.js';
import { summarize } from './history.js';
import { isActive, leaseLapsed, type MaintenanceState } from './state.js';

/** The `auto-trip` event of `MaintenanceService`: a check failed `failAfter` times in a row on this instance. */
export interface AutoTripEvent {
  /** The check's name. */
  readonly name: string;
  /** The scope it trips; absent for the whole site. */
  readonly scope?: string;
  /** Consecutive failed checks so far. */
  readonly failures: number;
  /** Why the latest check failed. */
  readonly error: string;
  /**
   * Whether this instance switched maintenance on. False when another state was in force (a person's, a window's):
   * the failure is only recorded in the history, and nothing is switched.
   */
  readonly switched: boolean;
  /** The state in force afterwards: the trip's, or the one left alone. */
  readonly state: MaintenanceState;
}

/** The `auto-recover` event of `MaintenanceService`: a tripped (or deferred) check passed `recoverAfter` times. */
export interface AutoRecoverEvent {
  readonly name: string;
  readonly scope?: string;
  /** Consecutive good checks so far. */
  readonly successes: number;
  /** Whether this instance switched its trip off. False when the state was a person's (left as it is). */
  readonly switched: boolean;
}

/** The `updatedBy` of a state switched by the trip `name`. */
export function autoBy(name: string): string {
  return `auto:${name}`;
}

/** The trip behind a state in force (`updatedBy: 'auto:<name>'`): its name and since when; undefined otherwise. */
export function autoTripOf(state: MaintenanceState, now: Date): { name: string; since: string | null } | undefined {
  const by = state.updatedBy;
  if (by === undefined || !by.startsWith('auto:') || state.window !== undefined || !isActive(state, now)) {
    return undefined;
  }
  return { name: by.slice('auto:'.length), since: state.updatedAt ?? null };
}

/** One check's outcome: good, or failed with why (`returned false`, `timed out after 2000 ms`, an error's message). */
export type CheckOutcome = { readonly ok: true } | { readonly ok: false; readonly error: string };

/**
 * Where a trip stands on this instance:
 * - `watching`: nothing switched by it here;
 * - `tripped`: this instance switched on (`revision`: its latest write) and renews the lease;
 * - `deferred`: it would have switched on, but another state was in force (a person's, a window's): it only recorded;
 * - `suppressed`: a person changed the state while it was tripped: left to them until the check recovers.
 */
export type TripPhase = 'watching' | 'tripped' | 'deferred' | 'suppressed';

/** What a trip remembers between checks. */
export interface TripMemory {
  readonly phase: TripPhase;
  /** Consecutive failed checks (0 after a good one). */
  readonly failures: number;
  /** Consecutive good checks (0 after a failed one). */
  readonly successes: number;
  /** Why the latest check failed. */
  readonly lastError?: string;
  /** With `tripped`: the revision of the state this instance wrote last (the trip, or its latest renewal). */
  readonly revision?: number;
}

/** A trip that has seen nothing yet. */
export const FRESH_TRIP: TripMemory = Object.freeze({ phase: 'watching', failures: 0, successes: 0 });

/** The counts after one more check. */
export function counted(m: TripMemory, outcome: CheckOutcome): TripMemory {
  if (outcome.ok) return { ...m, failures: 0, successes: m.successes + 1 };
  return { ...m, failures: m.failures + 1, successes: 0, lastError: outcome.error };
}

/** The counts a trip needs reached. */
export interface TripThresholds {
  readonly name: string;
  readonly failAfter: number;
  readonly recoverAfter: number;
}

/** What the store holds now, read for a decision. */
export interface TripLook {
  /** The store's revision, read before the states: a write the decision makes lands only if it is still this one. */
  readonly revision: number;
  /** The stored state of the trip's scope (or the whole site). */
  readonly stored: MaintenanceState;
  /** The state in force for it: the stored one with the recurring windows applied. */
  readonly inForce: MaintenanceState;
  readonly now: Date;
}

/**
 * What a trip does after a check:
 * - `trip`: switch on (after winning the fleet's claim); `renew`: renew the lease of its own state;
 * - `recover`: switch its own state off; `record`: another state is in force, only record that the check failed;
 * - `yield`: a person changed its state, leave it to them; `stand-down`: the check recovered while deferred or
 *   suppressed, nothing to switch back; `none`: nothing.
 */
export type TripAction = 'trip' | 'renew' | 'recover' | 'record' | 'yield' | 'stand-down' | 'none';

/** An action and the memory after it (a `trip`, `renew` or `recover` sets the revision when its write lands). */
export interface TripStep {
  readonly action: TripAction;
  readonly memory: TripMemory;
}

/**
 * Whether the next step needs the store read ({@link TripLook}): to renew or recover a trip, to trip or record, and to
 * record a stand-down; counting alone needs none.
 */
export function needsLook(m: TripMemory, t: TripThresholds): boolean {
  if (m.phase === 'tripped') return true;
  if (m.phase !== 'watching' && m.successes >= t.recoverAfter) return true;
  return m.phase !== 'suppressed' && m.failures >= t.failAfter;
}

/** Whether `stored` is the state this instance switched on as the trip `name` (same author, same revision). */
export function isOwnTrip(stored: MaintenanceState, name: string, revision: number | undefined): boolean {
  return stored.enabled && stored.updatedBy === autoBy(name) && revision !== undefined && stored.revision === revision;
}

/**
 * Whether `state` is someone's maintenance a trip must not overwrite: in force now (a dry run too), or scheduled
 * ahead (a planned window keeps its schedule). A lapsed lease and an ended window are no one's any more.
 */
export function holdsMaintenance(state: MaintenanceState, now: Date): boolean {
  if (!state.enabled || leaseLapsed(state, now)) return false;
  if (isActive(state, now)) return true;
  return state.start !== undefined && Date.parse(state.start) > now.getTime();
}

/** The step after a check (see {@link TripAction}); `look` is needed when {@link needsLook} says so. */
export function nextStep(m: TripMemory, t: TripThresholds, look?: TripLook): TripStep {
  const none: TripStep = { action: 'none', memory: m };
  if (m.phase === 'tripped') return look === undefined ? none : trippedStep(m, t, look);
  if ((m.phase === 'suppressed' || m.phase === 'deferred') && m.successes >= t.recoverAfter) {
    return { action: 'stand-down', memory: { ...m, phase: 'watching' } };
  }
  if (m.phase === 'suppressed' || m.failures < t.failAfter || look === undefined) return none;
  const { inForce, now } = look;
  // Another instance's trip of the same check: it renews it; this one only sees it.
  if (inForce.window === undefined && inForce.updatedBy === autoBy(t.name) && holdsMaintenance(inForce, now)) {
    return none;
  }
  if (holdsMaintenance(inForce, now)) {
    return m.phase === 'deferred' ? none : { action: 'record', memory: { ...m, phase: 'deferred' } };
  }
  return { action: 'trip', memory: m };
}

/** The step of a trip this instance holds: renew, recover, or yield to a person's change. */
function trippedStep(m: TripMemory, t: TripThresholds, look: TripLook): TripStep {
  const { stored, now } = look;
  if (!isOwnTrip(stored, t.name, m.revision)) {
    // Another instance of the same check wrote it (two claims won at once on a store without atomic claims): it holds
    // the trip now. Anyone else's write is a person's decision, left to them until the check recovers.
    if (stored.updatedBy === autoBy(t.name))
      return { action: 'none', memory: { ...m, phase: 'watching', revision: undefined } };
    return { action: 'yield', memory: { ...m, phase: 'suppressed', revision: undefined } };
  }
  if (leaseLapsed(stored, now)) {
    // This instance was too late to renew (stopped, starved): the site is back; switch on afresh if still failing.
    const watching: TripMemory = { ...m, phase: 'watching', revision: undefined };
    return { action: m.failures >= t.failAfter ? 'trip' : 'none', memory: watching };
  }
  if (m.successes >= t.recoverAfter) return { action: 'recover', memory: m };
  return { action: 'renew', memory: m };
}

/** The history's reason for a trip: `check "db" failed 3 times: connect ECONNREFUSED 127.0.0.1:5432`. */
export function tripReason(name: string, m: TripMemory): string {
  return `check "${name}" failed ${m.failures} time${m.failures === 1 ? '' : 's'}: ${m.lastError ?? 'unknown error'}`;
}

/** The history's reason for a recovery: `check "db" passed 3 times`. */
export function recoverReason(name: string, m: TripMemory): string {
  return `check "${name}" passed ${m.successes} time${m.successes === 1 ? '' : 's'}`;
}

/** The claim that lets one instance of the fleet trip over the stored revision `revision` (unique per trip). */
export function tripClaimName(name: string, scope: string | undefined, revision: number): string {
  return `auto-trip:${scope ?? ''}:${name}:${revision}`;
}

/**
 * A history entry that records without switching (the state in force stays): a failure while another state was in
 * force, or the recovery after it.
 */
export function noteEntry(note: {
  readonly inForce: MaintenanceState;
  readonly name: string;
  readonly reason: string;
  readonly now: Date;
  readonly scope?: string;
}): HistoryEntry {
  const summary = summarize(note.inForce, note.now);
  return {
    at: note.now.toISOString(),
    by: autoBy(note.name),
    source: 'auto',
    from: summary,
    to: summary,
    reason: note.reason,
    ...(note.scope !== undefined ? { scope: note.scope } : {}),
  };
}

/** Why a state in force is left alone: `maintenance set by cli:alice is in force`. */
export function heldBy(inForce: MaintenanceState): string {
  const who = inForce.window !== undefined ? `recurring window ${inForce.window}` : (inForce.updatedBy ?? 'someone');
  return `maintenance set by ${who} is in force`;
}

/** At most `max` characters of a check's error, on one line. */
export function shortError(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line || 'failed';
}
