/**
 * The switches of a service — `enable`, `disable`, `restore`, `renewLease` — and the one write every change goes
 * through (the window changes too): the state lands with its history entry and its change message, this instance
 * holds it at once, and the webhooks are told. A forced `mode` refuses them all.
 */
import { MaintenanceError } from '../core/errors.js';
import { historyEntry, summarize } from '../core/history.js';
import { changeEvent } from '../core/notify.js';
import { checkScopeName } from '../core/scope.js';
import {
  type DisableOptions,
  disabledState,
  type EnableOptions,
  enabledState,
  type MaintenanceState,
  normalizeState,
  OFF_STATE,
  renewedState,
} from '../core/state.js';
import { type RecurringWindow, windowsOf, withWindows } from '../core/windows.js';
import type { StateStore } from '../store/state-store.js';
import type { ChangeNotices } from './notify-changes.js';
import type { StateCaches, StateView } from './state-view.js';
import type { StoreSync } from './store-sync.js';
import { endOccurrences } from './window-list.js';

/** How many times `renewLease()` reads and tries again when a write landed between its read and its renewal. */
const RENEW_ATTEMPTS = 3;

/** What a write records besides the state. */
export interface WriteOptions {
  /** What made the change, for the history. @default 'service' */
  readonly source?: string;
  /** Who made it, for the history. @default the state's updatedBy */
  readonly by?: string;
  /** The scope written. @default undefined (the global state) */
  readonly scope?: string;
  /** Why, for the history. @default undefined */
  readonly reason?: string;
  /** No history entry and no notification (a lease renewed, an occurrence ended before a scoped switch). @default false */
  readonly quiet?: boolean;
  /** The recurring windows stored with a global state. @default the windows stored now */
  readonly windows?: readonly RecurringWindow[];
  /**
   * Write only if the store's revision is still this one (see `Commit.ifRevision`), else throw
   * `ERR_MAINTENANCE_STORE_CONFLICT` and write nothing. @default undefined (write whatever was written meanwhile)
   */
  readonly ifRevision?: number;
}

/** Settings of {@link StateWrites}. */
export interface StateWritesSettings {
  readonly store: StateStore;
  /** The forced state, if any (writes are refused then). */
  readonly mode: boolean | undefined;
  readonly caches: StateCaches;
  readonly view: Pick<StateView, 'getStoredState' | 'storedStateForSwitch' | 'acceptScope'>;
  readonly sync: Pick<StoreSync, 'readAgain'>;
  readonly notices: Pick<ChangeNotices, 'wrote' | 'tellOnce' | 'tell'>;
}

/** The writes of one service (each public method is the service's method of the same name). */
export class StateWrites {
  constructor(private readonly s: StateWritesSettings) {}

  /** Switches maintenance on (the whole site, or `opts.scope`). */
  async enable(opts: EnableOptions = {}): Promise<void> {
    const scope = checkedScopeOption(opts);
    await this.write(enabledState(opts, new Date()), { source: opts.source, scope, reason: opts.reason });
  }

  /** Switches maintenance off, ending the occurrences in progress of its windows. */
  async disable(opts: DisableOptions = {}): Promise<void> {
    const scope = checkedScopeOption(opts);
    const ended = await this.occurrencesToEnd(scope);
    // A scope's windows are in the global state: ending its occurrence is a write of its own, before the switch.
    if (ended && scope !== undefined)
      await this.write(ended.stored, { source: 'window', by: opts.by, quiet: true, windows: ended.windows });
    const windows = scope === undefined ? ended?.windows : undefined;
    const reason = opts.reason ?? ended?.reason;
    const told = await this.write(disabledState(opts, new Date()), { source: opts.source, scope, reason, windows });
    // Ending an occurrence is a switch off people are told of, though the stored state was off already.
    if (ended && !told) this.s.notices.tell('disabled', { enabled: false }, scope);
  }

  /** Writes back a state read earlier, exactly as it was. */
  async restore(state: MaintenanceState, opts: { source?: string; by?: string; scope?: string } = {}): Promise<void> {
    const scope = checkedScopeOption(opts);
    await this.write(normalizeState(state), { source: opts.source ?? 'job', by: opts.by, scope });
  }

  /**
   * Renews the lease of the stored state (global, or of `scope`), quietly. The renewal lands only on the revision its
   * state was read at (`ifRevision`): a switch made in between (a person's off) is never overwritten by the older state;
   * the state is read again and, if it still has a lease, renewed (at most {@link RENEW_ATTEMPTS} times).
   */
  async renewLease(scope?: string): Promise<void> {
    this.refuseForced();
    const name = scope === undefined ? undefined : checkScopeName(scope);
    for (let attempt = 1; ; attempt++) {
      const revision = await this.s.store.readRevision(); // first: a write after it makes the renewal conflict
      const current = await this.s.view.getStoredState(name);
      const options = { source: 'lease', by: current.updatedBy, scope: name, quiet: true, ifRevision: revision };
      try {
        await this.write(renewedState(current, new Date()), options);
        return;
      } catch (err) {
        const conflict = err instanceof MaintenanceError && err.code === 'ERR_MAINTENANCE_STORE_CONFLICT';
        if (!conflict || attempt === RENEW_ATTEMPTS) throw err;
      }
    }
  }

  /**
   * Lands the state with its history entry and the change message (see {@link StateStore.commit}); resolves whether
   * the webhooks were told of a change. A corrupt stored state is overwritten (the history says the previous value was
   * unreadable). When the outcome is unknown (a timeout), what this instance holds is read again, so it converges on
   * whatever the store ends up with.
   */
  async write(state: MaintenanceState, options: WriteOptions = {}): Promise<boolean> {
    return (await this.land(state, options)).told;
  }

  /** {@link StateWrites.write}, resolving also with the revision the store gave the state (a trip keeps it). */
  async land(state: MaintenanceState, options: WriteOptions = {}): Promise<{ told: boolean; revision: number }> {
    const { source = 'service', by = state.updatedBy, scope, reason, quiet = false, windows, ifRevision } = options;
    this.refuseForced();
    const previous = quiet ? undefined : await this.previousState(scope);
    if (scope === undefined) {
      // The windows live in the global state: a switch keeps them as stored, a window change sets them.
      const base = previous !== undefined && previous !== 'unreadable' ? previous : this.s.caches.global.peek();
      state = withWindows(state, windows ?? windowsOf(base));
    }
    const entry =
      previous === undefined
        ? undefined
        : historyEntry({ previous, next: state, source, now: new Date(), by, scope, reason });
    let revision: number;
    try {
      const change = entry === undefined ? { scope, state } : { scope, state, entry };
      revision = await this.s.store.commit(ifRevision === undefined ? change : { ...change, ifRevision });
    } catch (err) {
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN') this.s.sync.readAgain({ scope });
      throw err;
    }
    // This instance holds it now; it counts as applied when its own change message has been read (like everyone's).
    const stamped = { ...state, revision };
    this.s.notices.wrote(revision); // its own change reaches its cache now: told below, not as an observed one
    if (scope === undefined) this.s.caches.global.accept(stamped);
    else this.s.view.acceptScope(scope, stamped);
    const now = new Date();
    const event =
      previous === undefined
        ? undefined
        : changeEvent(previous === 'unreadable' ? 'off' : summarize(previous, now), summarize(state, now));
    if (event) this.s.notices.tellOnce(event, stamped, scope);
    return { told: event !== undefined, revision };
  }

  private refuseForced(): void {
    if (this.s.mode === undefined) return;
    throw new MaintenanceError(
      'ERR_MAINTENANCE_MODE_FORCED',
      `The state is forced by the mode option (mode: ${this.s.mode}); remove mode to switch maintenance with enable()/disable().`,
    );
  }

  /**
   * The stored state before a write, for the history's `from`: `'unreadable'` when it is corrupt, the last known one
   * when the store cannot say.
   */
  private async previousState(scope: string | undefined): Promise<MaintenanceState | 'unreadable'> {
    const { store, caches } = this.s;
    const before = scope === undefined ? await store.read() : await store.readScope(scope);
    if (before.ok) return before.state;
    if (before.error.code === 'ERR_MAINTENANCE_STATE_CORRUPT') return 'unreadable';
    return scope === undefined ? caches.global.peek() : (caches.scopes.peek().get(scope) ?? OFF_STATE); // as stored
  }

  /** The occurrences in progress for `scope` that a `disable()` ends (only them: the windows recur), if any. */
  private async occurrencesToEnd(scope: string | undefined) {
    if (this.s.mode !== undefined) return undefined;
    // From memory first: a disable with no occurrence in progress reads nothing more than it did before windows.
    if (!endOccurrences(windowsOf(this.s.caches.global.peek()), scope, new Date())) return undefined;
    const stored = (await this.s.view.storedStateForSwitch()) ?? OFF_STATE;
    const ended = endOccurrences(windowsOf(stored), scope, new Date());
    return ended && { ...ended, stored };
  }
}

/** The validated scope of `opts`, or undefined for the global state. */
function checkedScopeOption(opts: { readonly scope?: string }): string | undefined {
  return opts.scope === undefined ? undefined : checkScopeName(opts.scope);
}
