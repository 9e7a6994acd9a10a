/**
 * What the control API's routes and the MCP server's tools do, free of any transport: each takes the caller, checks the
 * scope it acts on (and what it may see), acts through the service's one path (the same the CLI takes) and returns a
 * JSON value or a problem. `handlers.ts` (Koa) and `integrations/mcp/` only translate to and from these. A write given
 * `preview` changes nothing and answers what it would change (the MCP write tools without `confirm: true`).
 */
import { httpStatusOf, MaintenanceError } from '../../core/errors.js';
import type { HistoryEntry } from '../../core/history.js';
import { stateInForce } from '../../core/scope.js';
import type { MaintenanceState } from '../../core/state.js';
import { fleetSummary, scopesBody, statusBody } from '../../core/status.js';
import { type OffNote, ON_NOTES, type OnNote } from '../../core/switch-on.js';
import { type RecurringWindow, windowsOf } from '../../core/windows.js';
import { describeRule } from '../../service/recurrence-rule.js';
import { FLEET_WAIT_DEFAULTS, type MaintenanceService } from '../../service/service.js';
import { planSwitch, type SwitchOnRequest, type SwitchOutcome } from '../../service/switching.js';
import { addedWindow } from '../../service/window-list.js';
import { type Caller, chooseScope } from './auth.js';
import type {
  HistoryQuery,
  MaintenanceOffBody,
  MaintenanceOnBody,
  ScopeQuery,
  UpcomingQuery,
  WaitBody,
  WindowBody,
  WindowRef,
} from './dto.js';
import type { Problem } from './problem.js';
import type { WaitSlots } from './wait-slots.js';

/** One call of an action: who calls, the service, the checked input, and how. */
export interface ActionCall<B> {
  readonly caller: Caller;
  readonly s: MaintenanceService;
  /** The checked body or arguments (a DTO instance). */
  readonly body: B;
  /** Through what a change is made, as the history records it: `api`, `mcp`. */
  readonly source: string;
  /** Only say what would change; change nothing. @default false */
  readonly preview?: boolean;
}

/** What an action answers: a JSON value, or a problem (and, for a wait refused, when to retry). */
export type Outcome =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly problem: Problem; readonly retryAfterSeconds?: number };

const done = (value: Record<string, unknown>): Outcome => ({ ok: true, value });
const refused = (problem: Problem): Outcome => ({ ok: false, problem });

/** The field a validation message starts with ("end (…) is not in the future" → end). */
const fieldOf = (message: string) => /^([A-Za-z][\w.]*)/.exec(message)?.[1] ?? '';

/**
 * The problem a `MaintenanceError` is (its status, its code in snake case, its message, the bad fields of a 400 and the
 * fleet of a timed-out wait); undefined for any other error: a bug or an outage the caller's log must say.
 */
export function problemOf(err: unknown): Problem | undefined {
  if (!(err instanceof MaintenanceError)) return undefined;
  const status = httpStatusOf(err.code);
  const code = err.code.replace(/^ERR_MAINTENANCE_/, '').toLowerCase();
  const extra: Record<string, unknown> =
    status === 400 ? { errors: err.errors ?? [{ field: fieldOf(err.message), detail: err.message }] } : {};
  if (err.fleet) extra.fleet = err.fleet;
  return { status, code, detail: err.message, extra };
}

/** Whether a window is one `scope`'s view shows: with a scope, its own windows and the site-wide ones. */
const visible = (scope: string | undefined, w: { scope?: string }) =>
  scope === undefined || w.scope === undefined || w.scope === scope;

/** The words for where a switch acts. */
const where = (scope: string | undefined) => (scope === undefined ? 'the whole site' : `the scope "${scope}"`);

/**
 * The state: the global state's fields plus scopes, windows and the fleet summary. With a scope (asked for, or the
 * token's own), that scope's view: its state in force, its own scope entry, its windows and the site-wide ones.
 */
export async function readState({ caller, s, body }: ActionCall<ScopeQuery>): Promise<Outcome> {
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  const own = choice.scope;
  const now = new Date();
  const stored = await s.getStoredState();
  // What operators see is the state in force: a recurring window's occurrence in progress shows as on.
  const global = s.stateInForceOf(stored);
  const all = [...(await s.scopeStates())].filter(([name]) => own === undefined || name === own);
  const fleet = await s.fleet(own).catch(() => undefined);
  const head =
    own === undefined
      ? statusBody(global, now)
      : { ...statusBody(stateInForce(global, await s.stateInForceNow(own), own, now).state, now), scope: own };
  return done({
    ...head,
    scopes: scopesBody(
      all.map(([scope, st]) => ({ scope, state: st })),
      now,
    ),
    windows: windowsBody(s, windowsOf(stored), own),
    fleet: fleet ? fleetSummary(fleet) : null,
  });
}

/** The windows `scope` sees and their next three occurrences (from memory: read the state first). */
function windowsBody(s: MaintenanceService, windows: readonly RecurringWindow[], scope: string | undefined) {
  const occurrences = s.upcoming({ count: 50 });
  return windows
    .filter((w) => visible(scope, w))
    .map((w) => ({
      ...w,
      description: describeRule(w),
      next: occurrences
        .filter((o) => o.window.id === w.id)
        .slice(0, 3)
        .map((o) => ({ start: o.start.toISOString(), end: o.end.toISOString() })),
    }));
}

/** The recurring windows the caller sees, with their next occurrences. */
export async function listWindows({ caller, s }: ActionCall<unknown>): Promise<Outcome> {
  return done({ windows: windowsBody(s, await s.windows(), caller.token?.scope) });
}

/** What a switch answers: the status after it, whether it changed anything, and its notes. */
function switchedBody(outcome: SwitchOutcome) {
  return {
    ...statusBody(outcome.state, new Date()),
    ...(outcome.scope !== undefined ? { scope: outcome.scope } : {}),
    changed: outcome.changed,
    ...(outcome.notes.length > 0 ? { notes: outcome.notes.map((n) => ON_NOTES[n]) } : {}),
  };
}

/** What a switch would do: nothing changed, whether it would, the state now and the one it would write. */
async function previewSwitch(call: ActionCall<unknown>, target: 'on' | 'off', request: SwitchOnRequest) {
  const { scope } = request;
  const plan = await planSwitch(call.s, target, request);
  const now = new Date();
  const current = await call.s.stateInForceNow(scope);
  const after = plan.state ?? (plan.changes ? { enabled: false } : current);
  const summary = !plan.changes
    ? `Maintenance is already ${target} for ${where(scope)}: nothing would change.`
    : `Would switch maintenance ${target} for ${where(scope)}${target === 'on' ? onDetails(plan.state) : ''}.`;
  return done({
    confirmed: false,
    wouldChange: plan.changes,
    ...(scope !== undefined ? { scope } : {}),
    summary,
    now: statusBody(current, now),
    after: statusBody(after as MaintenanceState, now),
    ...(plan.notes.length > 0 ? { notes: plan.notes.map((n: OnNote | OffNote) => ON_NOTES[n]) } : {}),
  });
}

/** ", from … until …, read-only, as a dry run" for the state an on would write. */
function onDetails(state: MaintenanceState | undefined): string {
  if (state === undefined) return '';
  const parts = [
    state.start !== undefined ? ` from ${state.start}` : ' now',
    state.end !== undefined ? ` until ${state.end}` : ' until switched off',
    state.readOnly ? ', read-only (writes refused, reads pass)' : '',
    state.dryRun ? ', as a dry run (nothing blocked)' : '',
  ];
  return parts.join('');
}

/** Switch on: the service's switch path, as the CLI and the toggle routes take it. */
export async function switchOnAs(call: ActionCall<MaintenanceOnBody>): Promise<Outcome> {
  const { caller, s, body } = call;
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  const request: SwitchOnRequest = {
    ...(body.message !== undefined ? { message: body.message } : {}),
    ...(body.start !== undefined ? { start: body.start } : {}),
    ...(body.end !== undefined ? { end: body.end } : {}),
    ...(body.readOnly ? { readOnly: true as const } : {}),
    ...(body.dryRun ? { dryRun: true as const } : {}),
    by: caller.by,
    source: call.source,
    ...(choice.scope !== undefined ? { scope: choice.scope } : {}),
  };
  if (call.preview) return previewSwitch(call, 'on', request);
  return done(switchedBody(await s.switchOn(request)));
}

/** Switch off: the service's switch path (an occurrence in progress is ended). */
export async function switchOffAs(call: ActionCall<MaintenanceOffBody>): Promise<Outcome> {
  const { caller, s, body } = call;
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  const request = {
    by: caller.by,
    source: call.source,
    ...(choice.scope !== undefined ? { scope: choice.scope } : {}),
  };
  if (call.preview) return previewSwitch(call, 'off', request);
  return done(switchedBody(await s.switchOff(request)));
}

/** Add a recurring window (a scoped token: to its own scope). Previewed: checked in full and its next occurrences. */
export async function addWindowAs(call: ActionCall<WindowBody>): Promise<Outcome> {
  const { caller, s, body } = call;
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  const def = {
    ...body,
    ...(choice.scope !== undefined ? { scope: choice.scope } : {}),
    ...(caller.by !== undefined ? { by: caller.by } : {}),
  };
  if (!call.preview) return done({ ...(await s.addWindow(def)) });
  const { window } = addedWindow(await s.windows(), def, new Date());
  return done({
    confirmed: false,
    wouldChange: true,
    summary: `Would add the window "${window.id}": ${describeRule(window)}, ${window.durationMinutes} min each, for ${where(window.scope)}.`,
    window,
    next: s.occurrencesOf(window, 3).map((o) => ({ start: o.start.toISOString(), end: o.end.toISOString() })),
  });
}

/** Remove a window: a scoped token removes its scope's windows only (any other is unknown to it). */
export async function removeWindowAs(call: ActionCall<WindowRef>): Promise<Outcome> {
  const { caller, s } = call;
  const id = String(call.body.id ?? '');
  const own = caller.token?.scope;
  const found = (await s.windows()).find((w) => w.id === id);
  if (!found || !visible(own, found) || (own !== undefined && found.scope === undefined)) {
    return refused({ status: 404, code: 'unknown_window', detail: `No window has the id ${JSON.stringify(id)}.` });
  }
  if (call.preview) {
    return done({
      confirmed: false,
      wouldChange: true,
      summary: `Would remove the window "${id}" (${describeRule(found)}); an occurrence in progress would end.`,
      window: found,
    });
  }
  await s.removeWindow(id, caller.by === undefined ? {} : { by: caller.by });
  return done({ removed: id });
}

/** The next occurrences of the recurring windows (with a scope: its own windows and the site-wide ones). */
export async function upcomingOf({ caller, s, body }: ActionCall<UpcomingQuery>): Promise<Outcome> {
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  await s.getStoredState(); // what the store holds now: upcoming() works from memory
  const list = s.upcoming({ count: body.count ?? 10, ...(choice.scope !== undefined ? { scope: choice.scope } : {}) });
  return done({
    occurrences: list.map((o) => ({
      window: o.window.id,
      start: o.start.toISOString(),
      end: o.end.toISOString(),
      ...(o.window.scope !== undefined ? { scope: o.window.scope } : {}),
      ...(o.window.message !== undefined ? { message: o.window.message } : {}),
      ...(o.window.readOnly ? { readOnly: true } : {}),
      ...(o.window.dryRun ? { dryRun: true } : {}),
    })),
  });
}

/** The newest changes, newest first; a scoped token sees its scope's entries. */
export async function historyOf({ caller, s, body }: ActionCall<HistoryQuery>): Promise<Outcome> {
  const own = caller.token?.scope;
  const entries: HistoryEntry[] = await s.history(body.limit ?? 50);
  return done({ entries: own === undefined ? entries : entries.filter((e) => e.scope === own) });
}

/** The fleet: the instances serving the store, and what each applied, runs and holds. */
export async function fleetOf({ caller, s, body }: ActionCall<ScopeQuery>): Promise<Outcome> {
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  return done({ ...(await s.fleet(choice.scope)) });
}

/** A wait's call: the bounds of open waits it takes a slot of, and the signal that ends it (its client left). */
export interface WaitCall extends ActionCall<WaitBody> {
  readonly waits: WaitSlots;
  readonly signal?: AbortSignal;
}

/** Whose waits are counted together: a token's, or a signed-in user's. */
const callerKey = (caller: Caller) => (caller.token ? `token:${caller.token.id}` : `session:${caller.by ?? ''}`);

/**
 * Waits until every instance applied the state (and drained); refused (429, with when to retry) past the bounds of
 * open waits; a `MaintenanceError` with the fleet when it did not settle in time.
 */
export async function waitFor(call: WaitCall): Promise<Outcome> {
  const { caller, s, body, waits } = call;
  const choice = chooseScope(caller, body.scope);
  if ('problem' in choice) return refused(choice.problem);
  const now = Date.now();
  const slot = waits.take(callerKey(caller), now + (body.timeoutMs ?? FLEET_WAIT_DEFAULTS.timeoutMs), now);
  if (!slot.ok) {
    const who = caller.token ? 'This token' : 'This user';
    const detail =
      slot.bound === 'caller'
        ? `${who} already waits ${slot.limit} times (maxWaitsPerToken: ${slot.limit}); retry after ${slot.retryAfterSeconds} s, or when one of its waits has ended.`
        : `This instance already holds ${slot.limit} waits (maxWaits: ${slot.limit}); retry after ${slot.retryAfterSeconds} s.`;
    return {
      ok: false,
      problem: { status: 429, code: 'too_many_waits', detail },
      retryAfterSeconds: slot.retryAfterSeconds,
    };
  }
  try {
    const settled = await s.waitForFleet({
      ...body,
      ...(choice.scope !== undefined ? { scope: choice.scope } : {}),
      ...(call.signal ? { signal: call.signal } : {}),
    });
    return done({ ...settled });
  } finally {
    slot.release();
  }
}
