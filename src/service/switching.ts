/**
 * The one switch path: what "on" and "off" mean when something is stored already, decided once for every surface
 * (the CLI's `on`/`off`/`run`, the toggle routes and the status page, the control API). Each calls
 * `service.switchOn()` / `service.switchOff()` and only translates the outcome.
 * - On: {@link planOn}'s rule (a plain on makes a dry run real, starts a scheduled window now, revokes its secret;
 *   window fields edit a live window); a lapsed lease counts as nothing stored, so its old message does not come back.
 * - Off: off is written when anything is on — a stored state (a lapsed lease included: it is cleared, and the history
 *   says when it lapsed) or a recurring window's occurrence in progress (ended; the window recurs); otherwise nothing
 *   changes and the outcome says so.
 */
import {
  type DisableOptions,
  type EnableOptions,
  enabledState,
  leaseLapsed,
  type MaintenanceState,
} from '../core/state.js';
import { type OffNote, type OnNote, type OnRequest, planOn } from '../core/switch-on.js';

/** What a switch did, for the surface to say. */
export interface SwitchOutcome {
  /** Whether the store was written. */
  readonly changed: boolean;
  /** What happened beyond the plain switch, one line each in `ON_NOTES`. */
  readonly notes: ReadonlyArray<OnNote | OffNote>;
  /** The state in force afterwards (an occurrence in progress shows as such). */
  readonly state: MaintenanceState;
  readonly scope?: string;
}

/** Who switches, through what, for which scope, and why. */
export interface SwitchActor {
  /** Who, as the history and `updatedBy` say it (`cli:alice`, `token:deploy-bot`). @default undefined */
  readonly by?: string;
  /** Through what: `cli`, `routes`, `api`, … @default 'service' */
  readonly source?: string;
  /** The scope switched. @default undefined (the whole site) */
  readonly scope?: string;
  /** Why, for the history (`run: npm run migrate`). @default undefined */
  readonly reason?: string;
}

/** `switchOn()`'s request: the window fields of {@link OnRequest}, who asks, and `replace` to ignore what is stored. */
export type SwitchOnRequest = OnRequest & SwitchActor & { readonly replace?: boolean };

/** What the switch path needs of a service. */
export interface Switchable {
  storedStateForSwitch(scope?: string): Promise<MaintenanceState | undefined>;
  enable(opts: EnableOptions): Promise<void>;
  disable(opts: DisableOptions): Promise<void>;
  /** The state in force for `scope` now (an occurrence in progress shows as on). */
  stateInForce(scope?: string): Promise<MaintenanceState>;
  /** Whether a recurring window's occurrence is in force for `scope` now, read from the store. */
  occurrenceInProgress(scope?: string): Promise<boolean>;
}

/** What a switch on would do, planned against what is stored now. */
async function planSwitchOn(service: Switchable, request: SwitchOnRequest) {
  const { by: _by, source: _source, scope, reason: _reason, replace, ...fields } = request;
  const now = new Date();
  const current = await service.storedStateForSwitch(scope);
  const lapsedAt = current !== undefined && leaseLapsed(current, now) ? current.leaseUntil : undefined;
  const plan = planOn(current !== undefined && replace ? { enabled: false } : current, fields, now);
  return { plan, lapsedAt };
}

/** What a switch off would do: whether anything is on (stored, or an occurrence), and what it notes. */
async function planSwitchOff(service: Switchable, scope: string | undefined) {
  const current = await service.storedStateForSwitch(scope);
  const occurrence = await service.occurrenceInProgress(scope);
  const lapsedAt = current !== undefined && leaseLapsed(current, new Date()) ? current.leaseUntil : undefined;
  const notes: OffNote[] = [];
  if (current === undefined) notes.push('overwrote-unreadable');
  if (occurrence) notes.push('occurrence-ended');
  if (lapsedAt !== undefined) notes.push('lease-lapsed');
  return { changes: current?.enabled !== false || occurrence, notes, lapsedAt };
}

/** What a switch would do, planned against what is stored now. */
export interface SwitchPlan {
  /** Whether the store would be written. */
  readonly changes: boolean;
  /** What would happen beyond the plain switch, one line each in `ON_NOTES`. */
  readonly notes: ReadonlyArray<OnNote | OffNote>;
  /** The state an on would write (checked as `enable()` checks it); undefined for an off and when nothing changes. */
  readonly state?: MaintenanceState;
}

/**
 * What `switchOn(request)` (`target` 'on') or `switchOff(request)` would do now; changes nothing. An on that would
 * fail (an end in the past, start after end) throws the `MaintenanceError` the switch would throw.
 */
export async function planSwitch(
  service: Switchable,
  target: 'on' | 'off',
  request: SwitchOnRequest = {},
): Promise<SwitchPlan> {
  if (target === 'off') {
    const { changes, notes } = await planSwitchOff(service, request.scope);
    return { changes, notes: changes ? notes : [] };
  }
  const { plan } = await planSwitchOn(service, request);
  if (plan.enable === undefined) return { changes: false, notes: plan.notes };
  return { changes: true, notes: plan.notes, state: enabledState({ ...plan.enable, by: request.by }, new Date()) };
}

/** Whether a switch would change anything (asked before it, e.g. to skip a confirmation prompt); changes nothing. */
export async function wouldSwitch(service: Switchable, target: 'on' | 'off', request: SwitchOnRequest = {}) {
  if (target === 'off') return (await planSwitchOff(service, request.scope)).changes;
  return (await planSwitchOn(service, request)).plan.enable !== undefined;
}

const actorOf = (r: SwitchActor, lapsedAt: string | undefined): SwitchActor => {
  const reason = r.reason ?? (lapsedAt === undefined ? undefined : `lease lapsed at ${lapsedAt}`);
  return {
    ...(r.by !== undefined ? { by: r.by } : {}),
    ...(r.source !== undefined ? { source: r.source } : {}),
    ...(r.scope !== undefined ? { scope: r.scope } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
};

/** Switches on (see the module comment). */
export async function switchOn(service: Switchable, request: SwitchOnRequest): Promise<SwitchOutcome> {
  const { plan, lapsedAt } = await planSwitchOn(service, request);
  const at = request.scope === undefined ? {} : { scope: request.scope };
  if (plan.enable !== undefined) await service.enable({ ...plan.enable, ...actorOf(request, lapsedAt) });
  const state = await service.stateInForce(request.scope);
  return { changed: plan.enable !== undefined, notes: plan.notes, state, ...at };
}

/** Switches off (see the module comment). */
export async function switchOff(service: Switchable, request: SwitchActor = {}): Promise<SwitchOutcome> {
  const { changes, notes, lapsedAt } = await planSwitchOff(service, request.scope);
  const at = request.scope === undefined ? {} : { scope: request.scope };
  if (changes) await service.disable(actorOf(request, lapsedAt));
  const state = await service.stateInForce(request.scope);
  return { changed: changes, notes: changes ? notes : [], state, ...at };
}
