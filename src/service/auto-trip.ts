/**
 * `autoTrip()`: the decisions and writes of a self-tripping maintenance, on the outcomes of its check loop
 * (`check-loop.ts`: one check at a time); its rules are pure (`core/auto-trip.ts`). The switches go through the
 * service's one write path (history, notifications, the push); the fleet's claim lets one instance trip, which then
 * renews the trip's lease at every check until it recovers.
 */
import {
  autoBy,
  type CheckOutcome,
  counted,
  FRESH_TRIP,
  heldBy,
  holdsMaintenance,
  needsLook,
  nextStep,
  noteEntry,
  recoverReason,
  type TripAction,
  type TripLook,
  type TripMemory,
  tripClaimName,
  tripReason,
} from '../core/auto-trip.js';
import { type AutoTripConfig, type AutoTripOptions, resolveAutoTripOptions } from '../core/auto-trip-options.js';
import type { ClaimStore } from '../core/claims.js';
import { MaintenanceError } from '../core/errors.js';
import { disabledState, enabledState, type MaintenanceState, renewedState } from '../core/state.js';
import { invalidOption } from '../core/validate.js';
import { type MaintenanceLogger, type StateStore, withTimeout } from '../store/state-store.js';
import { startCheckLoop } from './check-loop.js';
import type { ServiceEmitter } from './service-events.js';
import type { StateView } from './state-view.js';
import type { StateWrites } from './state-writes.js';

/** What the trips of a service need of it. */
export interface AutoTripSettings {
  readonly writes: Pick<StateWrites, 'land'>;
  readonly view: Pick<StateView, 'getStoredState' | 'stateInForceNow' | 'stateInForceOf'>;
  readonly store: Pick<StateStore, 'appendHistory' | 'readRevision'>;
  /** The store's claims (one instance trips for the fleet). */
  readonly claims: () => ClaimStore;
  /** The service, which emits `auto-trip` and `auto-recover`. */
  readonly events: ServiceEmitter;
  readonly logger: MaintenanceLogger;
  readonly storeTimeoutMs: number;
  /** The forced state, if any (nothing is switched then). */
  readonly mode: boolean | undefined;
  readonly closed: () => boolean;
}

/** The trips of one service, by name. */
export class AutoTrips {
  private readonly running = new Map<string, TripRunner>();

  constructor(private readonly s: AutoTripSettings) {}

  /** Validates `options` and starts the trip; returns its stop function (safe to call twice). */
  start(options: AutoTripOptions): () => void {
    const config = resolveAutoTripOptions(options);
    if (this.s.closed()) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_MISUSE',
        `autoTrip("${config.name}") on a closed service: call it before close().`,
      );
    }
    if (this.running.has(config.name)) {
      invalidOption(
        'autoTrip() name',
        'is already used by a running autoTrip() of this service: give each check its own name, or stop the first',
        config.name,
      );
    }
    if (this.s.mode !== undefined) {
      this.s.logger.warn(
        `autoTrip("${config.name}") switches nothing: the state is forced by the mode option (mode: ${this.s.mode}).`,
      );
      return () => undefined;
    }
    const runner = new TripRunner(config, this.s, () => this.running.delete(config.name));
    this.running.set(config.name, runner);
    runner.start();
    return () => runner.stop();
  }

  /** Stops every trip (the service closes). A trip in force stays until its lease lapses. */
  stopAll(): void {
    for (const runner of [...this.running.values()]) runner.stop();
  }
}

/** One trip: its timer, its one check in flight, its memory, and the actions its rules decide. */
class TripRunner {
  private memory: TripMemory = FRESH_TRIP;
  private stopLoop: (() => void) | undefined;
  private deciding = false;
  private again = false;
  private stopped = false;
  /** A claim this instance won whose trip it has not written yet (a failed write is tried again without a claim). */
  private claimed: string | undefined;
  private warned = false;

  constructor(
    private readonly c: AutoTripConfig,
    private readonly s: AutoTripSettings,
    private readonly onStop: () => void,
  ) {}

  start(): void {
    const { name, check, intervalMs, timeoutMs } = this.c;
    this.stopLoop = startCheckLoop({ name, check, intervalMs, timeoutMs, onOutcome: (o) => this.record(o) });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopLoop?.();
    this.onStop();
  }

  private record(outcome: CheckOutcome): void {
    if (this.stopped) return;
    this.memory = counted(this.memory, outcome);
    this.decide();
  }

  /** Decides and acts, one decision at a time (outcomes that arrive meanwhile are decided right after). */
  private decide(): void {
    if (this.deciding) {
      this.again = true;
      return;
    }
    this.deciding = true;
    void this.step().finally(() => {
      this.deciding = false;
      if (this.again && !this.stopped) {
        this.again = false;
        this.decide();
      }
    });
  }

  private async step(): Promise<void> {
    let look: TripLook | undefined;
    if (needsLook(this.memory, this.c)) {
      look = await this.look();
      if (look === undefined || this.stopped) return; // the store cannot say: decided at the next check
    }
    const step = nextStep(this.memory, this.c, look);
    this.memory = step.memory;
    if (step.action === 'none' || look === undefined) return;
    try {
      await this.act(step.action, look);
      this.warned = false;
    } catch (err) {
      // Written meanwhile (a person's switch, say): nothing was written; the next check looks again.
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STORE_CONFLICT') return;
      this.warnOnce(`could not ${step.action}`, err);
    }
  }

  /** The stored state of the trip's scope and the state in force for it, read now; undefined when that fails. */
  private async look(): Promise<TripLook | undefined> {
    const { scope } = this.c;
    try {
      // The revision first: a write decided on these states lands only if nothing was written since (ifRevision).
      const revision = await this.s.store.readRevision();
      const stored = await this.s.view.getStoredState(scope);
      const inForce =
        scope === undefined ? this.s.view.stateInForceOf(stored) : await this.s.view.stateInForceNow(scope);
      return { revision, stored, inForce, now: new Date() };
    } catch (err) {
      this.warnOnce('could not read the state', err);
      return undefined;
    }
  }

  /** Acts on a decision; what it says (counts, the error) is the memory it was decided on (`m`). */
  private act(action: TripAction, look: TripLook): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const m = this.memory;
    switch (action) {
      case 'trip':
        return this.trip(look, m);
      case 'renew':
        return this.renew(look);
      case 'recover':
        return this.recover(look, m);
      case 'record':
        return this.note(look, 'failed', m);
      case 'stand-down':
        return this.note(look, 'recovered', m);
      default:
        this.yielded(look);
        return Promise.resolve();
    }
  }

  /** Switches on, once this instance holds the fleet's claim over the stored revision. */
  private async trip(look: TripLook, m: TripMemory): Promise<void> {
    const { name, scope, mode, message, leaseMs } = this.c;
    const claim = tripClaimName(name, scope, look.stored.revision ?? 0);
    if (this.claimed !== claim) {
      const what = `Claiming the trip of check "${name}" in the store`;
      if (!(await withTimeout(this.s.claims().claim(claim, leaseMs), this.s.storeTimeoutMs, what))) return;
      this.claimed = claim; // another instance trips otherwise; this one sees its state
    }
    if (this.stopped) return; // stopped (the service closes) while claiming: no trip nobody would renew
    const reason = tripReason(name, m);
    const on = { by: autoBy(name), leaseMs, ...(mode === 'readOnly' ? { readOnly: true } : {}) };
    const state = enabledState(message === undefined ? on : { ...on, message }, new Date());
    const { revision } = await this.s.writes.land(state, { source: 'auto', scope, reason, ifRevision: look.revision });
    this.claimed = undefined;
    this.memory = { ...this.memory, phase: 'tripped', revision };
    const where = scope === undefined ? '' : ` for scope ${scope}`;
    this.s.logger.warn(`Maintenance switched on${where} (${mode === 'readOnly' ? 'read-only' : 'on'}): ${reason}.`);
    this.tripped(true, { ...state, revision }, m);
  }

  /** Renews the lease of the trip's own state (quiet: no history entry, no notification). */
  private async renew(look: TripLook): Promise<void> {
    const { name, scope } = this.c;
    const options = { source: 'lease', by: autoBy(name), scope, quiet: true, ifRevision: look.revision };
    const { revision } = await this.s.writes.land(renewedState(look.stored, new Date()), options);
    this.memory = { ...this.memory, revision };
  }

  /** Switches the trip's own state off. */
  private async recover(look: TripLook, m: TripMemory): Promise<void> {
    const { name, scope } = this.c;
    const reason = recoverReason(name, m);
    const options = { source: 'auto', scope, reason, ifRevision: look.revision };
    await this.s.writes.land(disabledState({ by: autoBy(name) }, new Date()), options);
    this.memory = { ...this.memory, phase: 'watching', revision: undefined };
    this.info(`Maintenance${scope === undefined ? '' : ` for scope ${scope}`} switched off: ${reason}.`);
    this.recovered(true, m);
  }

  /** Records, without a switch, a failure while another state is in force or the recovery after it. */
  private async note(look: TripLook, what: 'failed' | 'recovered', m: TripMemory): Promise<void> {
    const { name, scope } = this.c;
    const held = holdsMaintenance(look.inForce, look.now);
    const reason =
      what === 'failed'
        ? `${tripReason(name, m)}; not switched: ${heldBy(look.inForce)}`
        : `${recoverReason(name, m)}; nothing switched back${held ? `: ${heldBy(look.inForce)}` : ''}`;
    const entry = noteEntry({ inForce: look.inForce, name, reason, now: look.now, ...(scope ? { scope } : {}) });
    try {
      await this.s.store.appendHistory(entry); // first, so a listener of the event finds it in the history
    } finally {
      if (what === 'failed') {
        this.s.logger.warn(`autoTrip: ${reason}.`);
        this.tripped(false, look.inForce, m);
      } else {
        this.info(`autoTrip: ${reason}.`);
        this.recovered(false, m);
      }
    }
  }

  private yielded(look: TripLook): void {
    const who = look.stored.updatedBy ?? 'someone';
    this.info(
      `autoTrip: the state of check "${this.c.name}" was changed by ${who} while tripped; it is left to them until the check recovers.`,
    );
  }

  private tripped(switched: boolean, state: MaintenanceState, m: TripMemory): void {
    const { name, scope } = this.c;
    const { failures, lastError = 'unknown error' } = m;
    const at = scope !== undefined ? { scope } : {};
    this.s.events.emit('auto-trip', { name, ...at, failures, error: lastError, switched, state });
  }

  private recovered(switched: boolean, m: TripMemory): void {
    const { name, scope } = this.c;
    const at = scope !== undefined ? { scope } : {};
    this.s.events.emit('auto-recover', { name, ...at, successes: m.successes, switched });
  }

  private info(message: string): void {
    const { logger } = this.s;
    if (logger.info) logger.info(message);
    else logger.warn(message);
  }

  /** Warns once until an action succeeds again (a store that is down says so once, not at every check). */
  private warnOnce(what: string, err: unknown): void {
    if (this.warned || this.stopped || this.s.closed()) return;
    this.warned = true;
    const detail = err instanceof Error ? err.message : String(err);
    this.s.logger.warn(`autoTrip("${this.c.name}") ${what}: ${detail} It tries again at the next check.`);
  }
}
