/** The status of a state as people and scripts read it (toggle routes, CLI, status page). Pure. */
import { autoTripOf } from './auto-trip.js';
import { pickText } from './i18n.js';
import { behind, type Fleet } from './presence.js';
import { blocksRequests, isActive, leaseLapsed, type MaintenanceState } from './state.js';
import { upcomingWindow } from './upcoming.js';

/** The JSON status of a state: `/status`, `/on` and `/off` for JSON clients, `maintenance-mode status --json`. */
export function statusBody(state: MaintenanceState, now: Date) {
  return {
    enabled: state.enabled,
    active: isActive(state, now),
    start: state.start ?? null,
    end: state.end ?? null,
    message: state.message ?? null,
    updatedAt: state.updatedAt ?? null,
    updatedBy: state.updatedBy ?? null,
    readOnly: state.readOnly === true,
    dryRun: state.dryRun === true,
    bypass: state.bypassHash !== undefined,
    /** The recurring window whose occurrence is in force, if that is what this state is. */
    window: state.window ?? null,
    leaseUntil: state.leaseUntil ?? null,
    /** Switched on with a lease its runner stopped renewing: off for visitors since `leaseUntil`. */
    leaseLapsed: leaseLapsed(state, now),
    /** Switched on by `autoTrip()` and in force: the check's name and since when; null otherwise. */
    auto: autoTripOf(state, now) ?? null,
  };
}

/** The JSON status of every enabled scope, by name. */
export function scopesBody(
  scopes: ReadonlyArray<{ scope: string; state: MaintenanceState }>,
  now: Date,
): Record<string, ReturnType<typeof statusBody>> {
  return Object.fromEntries(scopes.map(({ scope, state }) => [scope, statusBody(state, now)]));
}

/**
 * What anyone may read (`<prefix>/public.json`): whether maintenance is on, its window and message, and the next
 * window if one is scheduled — never who changed it, nor whether a bypass secret exists. A message in several
 * languages is given in `lang` (negotiated by the caller), named by `lang` in the body.
 */
export function publicStatusBody(state: MaintenanceState, scope: string | undefined, now: Date, lang?: string) {
  const active = blocksRequests(state, now);
  const body: Record<string, unknown> = { active };
  const message = typeof state.message === 'object' ? pickText(state.message, lang ?? 'en', 'en') : state.message;
  const withMessage = (target: Record<string, unknown>) => {
    if (message === undefined) return;
    target.message = message;
    if (typeof state.message === 'object' && lang !== undefined) target.lang = lang;
  };
  if (active) {
    if (state.start !== undefined) body.start = state.start;
    if (state.end !== undefined) body.end = state.end;
    withMessage(body);
    if (state.readOnly) body.readOnly = true;
    if (scope !== undefined) body.scope = scope;
  }
  const next = upcomingWindow(state, now, { scope, withinMs: Number.POSITIVE_INFINITY });
  if (next) {
    const upcoming: Record<string, unknown> = { start: next.start };
    if (next.end !== undefined) upcoming.end = next.end;
    withMessage(upcoming);
    if (next.scope !== undefined) upcoming.scope = next.scope;
    body.upcoming = upcoming;
  }
  return body;
}

/** The fleet in a few numbers, for `/status` and the status page: live, stale and behind instances, what they run. */
export function fleetSummary(fleet: Fleet) {
  const live = fleet.instances.filter((i) => !i.stale);
  return {
    revision: fleet.revision,
    instances: live.length,
    stale: fleet.instances.length - live.length,
    behind: behind(fleet, false).length,
    inFlight: live.reduce((n, i) => n + i.inFlight, 0),
    held: live.reduce((n, i) => n + i.held, 0),
  };
}
