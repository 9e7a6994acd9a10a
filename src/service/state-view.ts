/**
 * What a service holds of the stored states, and how it reads them: the global state and the table of scoped states,
 * each in its cache (`state-cache.ts`, `scope-cache.ts`: at most one read per `cacheTtlMs`, the outage policy), with
 * the recurring windows overlaid (`window-overlay.ts`); a forced `mode` wins over the store. A read through the caches
 * subscribes to the store's change feed first (`store-sync.ts`).
 */
import { performance } from 'node:perf_hooks';
import type { MaintenanceError } from '../core/errors.js';
import { checkScopeName } from '../core/scope.js';
import { isActive, type MaintenanceState, OFF_STATE } from '../core/state.js';
import type { ScopeStates, StateStore } from '../store/state-store.js';
import type { ChangeRelay } from './change-relay.js';
import type { OnInvalid } from './recurrence.js';
import { createScopeCache, type ScopeCache, withScope } from './scope-cache.js';
import type { MaintenanceServiceConfig } from './service-options.js';
import { createStateCache, type StateCache } from './state-cache.js';
import { createWindowOverlay, type WindowOverlay } from './window-overlay.js';

/** The two caches of a service: the global state, and the table of scoped states. */
export interface StateCaches {
  readonly global: StateCache;
  readonly scopes: ScopeCache;
}

/** Settings of {@link createStateCaches}. */
export interface StateCachesSettings {
  readonly store: StateStore;
  readonly config: MaintenanceServiceConfig;
  /** Told of every read that failed and every change of what the caches hold. */
  readonly on: Pick<ChangeRelay, 'readFailed' | 'globalChanged' | 'scopesChanged'>;
}

/** Builds the caches of one service; under a forced `mode` the global one holds it from the start. */
export function createStateCaches(s: StateCachesSettings): StateCaches {
  const { store, config, on } = s;
  const global = createStateCache({
    store,
    ttlMs: config.cacheTtlMs,
    fallbackValue: config.fallbackValue,
    clock: () => performance.now(),
    logger: config.logger,
    onRead: (result) => {
      if (!result.ok) on.readFailed(result.error);
    },
    onChange: (previous, next) => on.globalChanged(previous, next),
  });
  const scopes = createScopeCache({
    store,
    ttlMs: config.cacheTtlMs,
    clock: () => performance.now(),
    logger: config.logger,
    onChange: (previous, next) => on.scopesChanged(previous, next),
  });
  if (config.mode !== undefined) global.accept({ enabled: config.mode });
  return { global, scopes };
}

/** Settings of {@link StateView}. */
export interface StateViewSettings {
  readonly store: StateStore;
  readonly config: MaintenanceServiceConfig;
  readonly caches: StateCaches;
  /** The subscription to the change feed, made by the first read through the caches. */
  readonly sync: { listen(): void; readonly subscribesFirst: boolean };
  /** Told of a window left out because its rule cannot be expanded. */
  readonly onInvalid: OnInvalid;
}

/** The reads of one service (see the module comment; each method is the service's method of the same name). */
export class StateView {
  private readonly config: MaintenanceServiceConfig;
  private readonly store: StateStore;
  private readonly cache: StateCache;
  private readonly scopeCache: ScopeCache;
  private readonly overlay: WindowOverlay;
  /** How long before its start the next occurrence of a window is in force as a scheduled state. */
  private horizonMs = 0;

  constructor(private readonly s: StateViewSettings) {
    this.config = s.config;
    this.store = s.store;
    this.cache = s.caches.global;
    this.scopeCache = s.caches.scopes;
    this.overlay = createWindowOverlay(() => this.horizonMs, s.onInvalid);
  }

  /** The global state in force (or the state of `scope`), through the caches. Never throws. */
  async getState(scope?: string): Promise<MaintenanceState> {
    if (scope !== undefined) return (await this.scopeStates()).get(checkScopeName(scope)) ?? OFF_STATE;
    if (this.config.mode !== undefined) return this.cache.peek();
    this.s.sync.listen();
    return this.overlay.global(await this.cache.get());
  }

  /** Every enabled scoped state, through the cache. Never throws. */
  async scopeStates(): Promise<ScopeStates> {
    if (this.config.mode !== undefined) return this.scopeCache.peek();
    this.s.sync.listen();
    return this.overlay.table(this.cache.peek(), await this.scopeCache.get());
  }

  /** The scope table held, as stored (empty until scopes are used). */
  knownScopeStates(): ScopeStates {
    return this.scopeCache.peek();
  }

  /** `scopeStates()` when no read is due, synchronously; else undefined. */
  freshScopeStates(): ScopeStates | undefined {
    if (this.config.mode !== undefined) return this.scopeCache.peek();
    if (this.s.sync.subscribesFirst) return undefined; // first call subscribes
    const table = this.scopeCache.fresh();
    return table === undefined ? undefined : this.overlay.table(this.cache.peek(), table);
  }

  /** `getState()` when no read is due, synchronously; else undefined. The middleware's fast path. */
  freshState(): MaintenanceState | undefined {
    if (this.config.mode !== undefined) return this.cache.peek();
    if (this.s.sync.subscribesFirst) return undefined; // first call subscribes
    const state = this.cache.fresh();
    return state === undefined ? undefined : this.overlay.global(state);
  }

  /** The stored state (global, or of `scope`), read now; a failing or corrupt store throws. */
  async getStoredState(scope?: string): Promise<MaintenanceState> {
    if (scope !== undefined) {
      const name = checkScopeName(scope);
      if (this.config.mode !== undefined) return OFF_STATE;
      const result = await this.store.readScope(name);
      if (!result.ok) throw result.error;
      this.acceptScope(name, result.state);
      return result.state;
    }
    if (this.config.mode !== undefined) return this.cache.peek();
    const result = await this.cache.readThrough();
    if (!result.ok) throw result.error;
    return result.state;
  }

  /** `getStoredState()`, but undefined for a corrupt stored state (a switch overwrites it). */
  async storedStateForSwitch(scope?: string): Promise<MaintenanceState | undefined> {
    try {
      return await this.getStoredState(scope);
    } catch (err) {
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STATE_CORRUPT') return undefined;
      throw err;
    }
  }

  /** Every scope whose stored state is enabled, sorted by name, read now. */
  async scopes(): Promise<Array<{ scope: string; state: MaintenanceState }>> {
    if (this.config.mode !== undefined) return [];
    const result = await this.scopeCache.readThrough();
    if (!result.ok) throw result.error;
    return [...result.state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([scope, state]) => ({ scope, state }));
  }

  /** Whether maintenance is active now (for `scope`: the global state's or the scope's). */
  async isEnabled(scope?: string): Promise<boolean> {
    const now = new Date();
    if (isActive(await this.getState(), now)) return true;
    return scope !== undefined && isActive(await this.getState(scope), now);
  }

  /** Whether the last read of the state (with `scope`: or of the scope table) failed. */
  readFailing(scope?: string): boolean {
    if (this.config.mode !== undefined) return false;
    return this.cache.failing || (scope !== undefined && this.scopeCache.failing);
  }

  /** The last state held (global, or of `scope`), in force, synchronously. */
  lastKnownState(scope?: string): MaintenanceState {
    if (this.config.mode !== undefined) return scope === undefined ? this.cache.peek() : OFF_STATE;
    if (scope === undefined) return this.overlay.global(this.cache.peek());
    return this.overlay.table(this.cache.peek(), this.scopeCache.peek()).get(scope) ?? OFF_STATE;
  }

  /** The state as the last write left it: from memory for the global state, read back for a scope. */
  async stateAfterWrite(scope?: string): Promise<MaintenanceState> {
    return scope === undefined ? this.lastKnownState() : this.getStoredState(scope);
  }

  /** Store reads made so far by the two caches. */
  storeReads(): number {
    return this.cache.reads + this.scopeCache.reads;
  }

  /** The state in force now for `scope` (or the whole site), read from the store. */
  async stateInForceNow(scope?: string): Promise<MaintenanceState> {
    const global = await this.getStoredState();
    if (scope === undefined) return this.stateInForceOf(global);
    const own = await this.getStoredState(scope);
    return this.overlay.table(global, new Map([[scope, own]])).get(scope) ?? own;
  }

  /** The state in force for `scope` now: from memory for the whole site, read for a scope. */
  stateInForce(scope?: string): Promise<MaintenanceState> {
    return scope === undefined ? Promise.resolve(this.lastKnownState()) : this.stateInForceNow(scope);
  }

  /** The site-wide state in force given a stored one just read, without reading. */
  stateInForceOf(stored: MaintenanceState): MaintenanceState {
    return this.overlay.global(stored);
  }

  /** Puts the next occurrence of a window in force `ms` before its start (the longest asked for wins). */
  announceAhead(ms: number): void {
    this.horizonMs = Math.max(this.horizonMs, ms);
  }

  /** Puts one scope's state into the table held in memory (when there is one). */
  acceptScope(scope: string, state: MaintenanceState): void {
    if (this.scopeCache.known) this.scopeCache.accept(withScope(this.scopeCache.peek(), scope, state));
  }
}
