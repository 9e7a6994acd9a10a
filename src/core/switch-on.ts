/**
 * What switching on means when something is already stored — one rule for the CLI, the toggle routes and the status
 * page. A plain `on` means "maintenance on, for real, now": it makes a dry run real, starts a scheduled window now and
 * revokes the window's bypass secret. An `on` with options edits the live window: the fields given replace those
 * stored, the others are kept. Pure.
 */
import { autoTripOf } from './auto-trip.js';
import type { LocalizedText } from './i18n.js';
import { blocksRequests, type EnableOptions, leaseLapsed, type MaintenanceState } from './state.js';

/** The window fields an `on` was given (CLI options, form or query fields). */
export interface OnRequest {
  /** When maintenance starts (a scheduled window). @default undefined (now) */
  readonly start?: Date | string;
  /** When it ends by itself. @default undefined (on until switched off) */
  readonly end?: Date | string;
  /** What visitors read: one text, or one per language. @default undefined (the page's default text) */
  readonly message?: string | LocalizedText;
  /** `true` sets read-only, `false` clears it (CLI `--read-write`), undefined keeps it. */
  readonly readOnly?: boolean;
  readonly dryRun?: true;
  /** A new bypass secret's verifier for the window. */
  readonly bypassHash?: string;
  /** A lease for the window (see `EnableOptions.leaseMs`). */
  readonly leaseMs?: number;
}

/** Why an `on` changed what was stored, for people: each becomes one line of the CLI's or the page's answer. */
export type OnNote =
  | 'dry-run-made-real'
  | 'scheduled-window-started'
  | 'bypass-revoked'
  | 'overwrote-unreadable'
  | 'lease-lapsed'
  | 'auto-trip-taken-over';

/** What a switch off did beyond writing "off", for people. */
export type OffNote = 'occurrence-ended' | 'lease-lapsed' | 'overwrote-unreadable';

/** What an `on` does: the state to write (undefined: nothing changes) and what to tell the operator. */
export interface OnPlan {
  readonly enable?: EnableOptions;
  readonly notes: readonly OnNote[];
}

const given = (r: OnRequest) =>
  r.start !== undefined ||
  r.end !== undefined ||
  r.message !== undefined ||
  r.readOnly !== undefined ||
  r.dryRun !== undefined ||
  r.bypassHash !== undefined ||
  r.leaseMs !== undefined;

/** Whether `state` is a window still to come or running (an ended window, or a lapsed lease, counts as nothing). */
function live(state: MaintenanceState, now: Date): boolean {
  return (
    state.enabled && (state.end === undefined || Date.parse(state.end) > now.getTime()) && !leaseLapsed(state, now)
  );
}

/**
 * Plans an `on` against `current` (undefined: the stored state is unreadable, and is overwritten). `by`, `source`
 * and `scope` are added by the caller.
 */
export function planOn(current: MaintenanceState | undefined, request: OnRequest, now: Date): OnPlan {
  const fresh = (notes: OnNote[]): OnPlan => ({ enable: fromRequest(request), notes });
  if (current === undefined) return fresh(['overwrote-unreadable']);
  if (leaseLapsed(current, now)) return fresh(['lease-lapsed']);
  // A health check's trip is no one's window to edit: a person's on replaces it (its lease, which only the check's
  // instance renews, and its read-only mode are not kept), and the check never switches that off.
  if (autoTripOf(current, now) !== undefined) return fresh(['auto-trip-taken-over']);
  if (!live(current, now)) return fresh([]);
  if (given(request)) return { enable: edited(current, request), notes: [] };
  const notes: OnNote[] = [];
  if (current.dryRun) notes.push('dry-run-made-real');
  if (current.start !== undefined && Date.parse(current.start) > now.getTime()) notes.push('scheduled-window-started');
  if (current.bypassHash !== undefined) notes.push('bypass-revoked');
  if (notes.length === 0 && blocksRequests(current, now)) return { notes }; // already on, for real
  return {
    enable: {
      end: current.end,
      message: current.message,
      readOnly: current.readOnly,
      leaseMs: current.leaseMs,
      start: notes.includes('scheduled-window-started') ? undefined : current.start,
    },
    notes,
  };
}

function fromRequest(r: OnRequest): EnableOptions {
  return {
    start: r.start,
    end: r.end,
    message: r.message,
    readOnly: r.readOnly === true ? true : undefined,
    dryRun: r.dryRun,
    bypassHash: r.bypassHash,
    leaseMs: r.leaseMs,
  };
}

/** The live window with the request's fields replacing the stored ones. */
function edited(current: MaintenanceState, r: OnRequest): EnableOptions {
  return {
    start: r.start ?? current.start,
    end: r.end ?? current.end,
    message: r.message ?? current.message,
    readOnly: (r.readOnly ?? current.readOnly) === true ? true : undefined,
    dryRun: r.dryRun ?? (current.dryRun === true ? true : undefined),
    bypassHash: r.bypassHash ?? current.bypassHash,
    leaseMs: r.leaseMs ?? current.leaseMs,
  };
}

/** The line each note becomes. */
export const ON_NOTES: Readonly<Record<OnNote | OffNote, string>> = Object.freeze({
  'dry-run-made-real': 'The dry run is now real: requests are blocked.',
  'scheduled-window-started': 'The scheduled window starts now.',
  'bypass-revoked': "The previous window's bypass secret is revoked: its link and cookies no longer work.",
  'overwrote-unreadable': 'The stored state was unreadable (corrupt) and is overwritten.',
  'lease-lapsed':
    'The previous switch on had a lease that lapsed (its runner stopped renewing it): it was already off for visitors.',
  'occurrence-ended': "The recurring window's occurrence in progress is ended; the window recurs.",
  'auto-trip-taken-over':
    'Maintenance was on by a failing health check (autoTrip): it is yours now, and stays on until switched off, whatever the check says.',
});
