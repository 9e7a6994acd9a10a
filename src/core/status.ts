/** The status of a state as people and scripts read it (toggle routes, CLI, status page). Pure. */
import { isActive, type MaintenanceState } from './state.js';

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
  };
}

/** The JSON status of every enabled scope, by name. */
export function scopesBody(
  scopes: ReadonlyArray<{ scope: string; state: MaintenanceState }>,
  now: Date,
): Record<string, ReturnType<typeof statusBody>> {
  return Object.fromEntries(scopes.map(({ scope, state }) => [scope, statusBody(state, now)]));
}
