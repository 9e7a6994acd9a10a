/** `MaintenanceService`: the TypeDI service that reads and writes the state; the only file importing typedi. */
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import { Container, Service } from 'typedi';
import { type ChangeFeed, changeFeedOf } from '../core/change-feed.js';
import { MaintenanceError } from '../core/errors.js';
import { type HistoryEntry, historyEntry, summarize } from '../core/history.js';
import { type KeyvLike, STORE_DESCRIPTION, STORE_DESTROY, storeText } from '../core/keyv-like.js';
import { checkScopeName } from '../core/scope.js';
import {
  type DisableOptions,
  disabledState,
  type EnableOptions,
  enabledState,
  isActive,
  type MaintenanceState,
  normalizeState,
  OFF_STATE,
} from '../core/state.js';
import { createFileKeyv } from '../store/keyv.js';
import { createPostgresStore } from '../store/postgres-store.js';
import { createRedisStore } from '../store/redis-store.js';
import { createStateStore, type ScopeStates, type StateStore, withTimeout } from '../store/state-store.js';
import { changedScopes, createScopeCache, type ScopeCache, withScope } from './scope-cache.js';
import {
  type MaintenanceServiceConfig,
  type MaintenanceServiceOptions,
  resolveServiceOptions,
} from './service-options.js';
import { createStateCache, type StateCache } from './state-cache.js';

/** Events of {@link MaintenanceService}: the state in force changed (seen by every instance), or a read failed. */
export interface MaintenanceServiceEvents {
  /** `scope` is set when a scope changed (only while something on this instance uses scopes). */
  enabled: [state: MaintenanceState, scope?: string];
  disabled: [state: MaintenanceState, scope?: string];
  scheduled: [state: MaintenanceState, scope?: string];
  storeError: [error: MaintenanceError];
}

/**
 * Reads and writes the maintenance state through keyv (the embedded file store by default).
 * `Container.get(MaintenanceService)` works with no setup; `Container.set(MaintenanceService, new MaintenanceService({ store }))`
 * configures the one the middleware and helpers use.
 * Emits `enabled`, `disabled` and `scheduled` when the state in force changes (on every instance that sees it) and
 * `storeError` when a read fails.
 * @example
 * const service = new MaintenanceService({ store: new Keyv() });
 * await service.enable({ message: 'Back at 3am', end: '2026-12-01T03:00:00Z', by: 'ops' });
 */
@Service()
export class MaintenanceService extends EventEmitter<MaintenanceServiceEvents> {
  /** The resolved options. */
  readonly config: MaintenanceServiceConfig;
  private readonly store: StateStore;
  private readonly keyv: KeyvLike;
  private readonly cache: StateCache;
  private readonly scopeCache: ScopeCache;
  private readonly feed: ChangeFeed | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly watchers = new Set<() => void>();
  private closing = false;

  constructor(options?: MaintenanceServiceOptions) {
    super();
    this.config = resolveServiceOptions(options, process.env, process.cwd(), console);
    const { store, redisUrl, postgresUrl, stateFilePath } = this.config;
    const keyv: KeyvLike =
      store ??
      (redisUrl
        ? createRedisStore(redisUrl)
        : postgresUrl
          ? createPostgresStore(postgresUrl)
          : createFileKeyv(stateFilePath as string));
    this.keyv = keyv;
    if (keyv.throwOnErrors === false) {
      // keyv's default swallows store errors and returns undefined, which would read as "maintenance off".
      keyv.throwOnErrors = true;
    }
    this.store = createStateStore({
      keyv,
      description: stateFilePath
        ? `the state file ${stateFilePath}`
        : (storeText(keyv, STORE_DESCRIPTION) ?? 'the keyv store'),
      timeoutMs: this.config.storeTimeoutMs,
      logger: this.config.logger,
    });
    this.cache = createStateCache({
      store: this.store,
      ttlMs: this.config.cacheTtlMs,
      fallbackValue: this.config.fallbackValue,
      clock: () => performance.now(),
      logger: this.config.logger,
      onRead: (result) => {
        if (!result.ok && this.listenerCount('storeError') > 0) this.emit('storeError', result.error);
      },
      onChange: (previous, next) => {
        this.announce(previous, next);
        this.notifyWatchers();
      },
    });
    this.scopeCache = createScopeCache({
      store: this.store,
      ttlMs: this.config.cacheTtlMs,
      clock: () => performance.now(),
      logger: this.config.logger,
      onChange: (previous, next) => {
        for (const c of changedScopes(previous, next)) this.announce(c.previous, c.next, c.scope);
        this.notifyWatchers();
      },
    });
    this.feed = changeFeedOf(keyv);
    if (this.config.mode !== undefined) this.cache.accept({ enabled: this.config.mode });
  }

  /**
   * The global state in force: the forced `mode` if set, else the stored state, from memory when it was read less
   * than `cacheTtlMs` ago (changes pushed by the store's change feed arrive at once). When the store fails or times
   * out: the last known state for `cacheTtlMs`, then `{ enabled: fallbackValue }`. Never throws.
   * With `scope`: that scope's own state, cached the same way (off when it has none, and under a forced `mode`).
   */
  async getState(scope?: string): Promise<MaintenanceState> {
    if (scope !== undefined) return (await this.scopeStates()).get(checkScopeName(scope)) ?? OFF_STATE;
    if (this.config.mode !== undefined) return this.cache.peek();
    this.listen();
    return this.cache.get();
  }

  /** Every enabled scoped state, from memory under the same cache policy as the global state. Never throws. */
  async scopeStates(): Promise<ScopeStates> {
    if (this.config.mode !== undefined) return this.scopeCache.peek();
    this.listen();
    return this.scopeCache.get();
  }

  /** The scope table this service last read, wrote or was pushed, synchronously (empty until scopes are used). */
  knownScopeStates(): ScopeStates {
    return this.scopeCache.peek();
  }

  /** {@link MaintenanceService.scopeStates} when no read is due, synchronously; else undefined. */
  freshScopeStates(): ScopeStates | undefined {
    if (this.config.mode !== undefined) return this.scopeCache.peek();
    if (this.feed && !this.unsubscribe && this.config.cacheTtlMs > 0) return undefined; // first call subscribes
    return this.scopeCache.fresh();
  }

  /**
   * The state from memory when no read is due (forced `mode`, or read less than `cacheTtlMs` ago while listening
   * for changes), synchronously; undefined when {@link MaintenanceService.getState} must be awaited. The
   * middleware's fast path.
   */
  freshState(): MaintenanceState | undefined {
    if (this.config.mode !== undefined) return this.cache.peek();
    if (this.feed && !this.unsubscribe && this.config.cacheTtlMs > 0) return undefined; // first call subscribes
    return this.cache.fresh();
  }

  /**
   * The stored state, read now, for callers that must not act on a cached or fallback state (toggle routes, CLI):
   * a failing, timing-out or corrupt store throws `MaintenanceError`.
   */
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

  /**
   * The stored state of `scope` (or the global one) for a switch: like {@link MaintenanceService.getStoredState}, but
   * a corrupt stored state gives `undefined` instead of throwing, since switching overwrites it. Other failures throw.
   */
  async storedStateForSwitch(scope?: string): Promise<MaintenanceState | undefined> {
    try {
      return await this.getStoredState(scope);
    } catch (err) {
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STATE_CORRUPT') return undefined;
      throw err;
    }
  }

  /**
   * Every scope whose stored state is enabled (scheduled ones included), sorted by name, read now.
   * Throws `MaintenanceError` when the store cannot be read.
   */
  async scopes(): Promise<Array<{ scope: string; state: MaintenanceState }>> {
    if (this.config.mode !== undefined) return [];
    const result = await this.scopeCache.readThrough();
    if (!result.ok) throw result.error;
    return [...result.state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([scope, state]) => ({ scope, state }));
  }

  /**
   * Whether maintenance is active now (forced `mode`, stored state and its `[start, end)` window). With `scope`:
   * whether requests of that scope are in maintenance, i.e. the global state or the scope's state is active.
   */
  async isEnabled(scope?: string): Promise<boolean> {
    const now = new Date();
    if (isActive(await this.getState(), now)) return true;
    return scope !== undefined && isActive(await this.getState(scope), now);
  }

  /**
   * The last state this service read, wrote or was pushed, synchronously (no I/O); off until the first read.
   * With `scope`: that scope's last known state (off when scopes were never read here).
   */
  lastKnownState(scope?: string): MaintenanceState {
    if (scope === undefined) return this.cache.peek();
    return this.scopeCache.peek().get(scope) ?? OFF_STATE;
  }

  /**
   * The state of `scope` (or the global one) as this service's last write left it: from memory for the global state,
   * read back for a scope (the table of scopes is held only where something uses scopes). For callers that report
   * what they just switched (toggle routes, CLI, job helpers).
   */
  async stateAfterWrite(scope?: string): Promise<MaintenanceState> {
    return scope === undefined ? this.lastKnownState() : this.getStoredState(scope);
  }

  /** Store reads made by this service so far (cache misses and refreshes of the state and of the scope table). */
  get storeReads(): number {
    return this.cache.reads + this.scopeCache.reads;
  }

  /**
   * The audit trail, newest first: every change made through any service, the toggle routes, the CLI or the scope
   * helpers, as `{ at, by, source, from, to, message }`. Throws `MaintenanceError` when the store cannot be read.
   */
  async history(limit = 50): Promise<HistoryEntry[]> {
    return (await this.store.readHistory(limit)).reverse();
  }

  /**
   * Switches maintenance on, now or for the window `[start, end)`. Throws `MaintenanceError` for an invalid
   * schedule, when `mode` forces the state, or when the store cannot be written (the state is then unchanged).
   */
  async enable(opts: EnableOptions = {}): Promise<void> {
    const scope = scopeOf(opts);
    await this.write(enabledState(opts, new Date()), opts.source, undefined, scope);
  }

  /** Switches maintenance off (the whole site, or `scope`). Throws like {@link MaintenanceService.enable}. */
  async disable(opts: DisableOptions = {}): Promise<void> {
    const scope = scopeOf(opts);
    await this.write(disabledState(opts, new Date()), opts.source, undefined, scope);
  }

  /**
   * Writes back a state read earlier (e.g. the one before a `withMaintenanceOn` job), exactly as it was,
   * including its schedule, message and author. Throws like {@link MaintenanceService.enable}.
   */
  async restore(state: MaintenanceState, opts: { source?: string; by?: string; scope?: string } = {}): Promise<void> {
    const scope = scopeOf(opts);
    await this.write(normalizeState(state), opts.source ?? 'job', opts.by, scope);
  }

  /**
   * Calls `listener` (synchronously, no arguments) whenever the global state or a scoped state this service holds
   * changes — by a push, a read, a write or the outage policy. Returns the function that stops it. Used to release
   * held requests the moment maintenance ends.
   */
  watch(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private notifyWatchers(): void {
    for (const listener of [...this.watchers]) listener();
  }

  /** Human description of the store, as used in messages: the file path or the Redis URL (password hidden). */
  get storeDescription(): string {
    return this.store.description;
  }

  /** Whether {@link MaintenanceService.close} was called: held requests are answered, and no new one is held. */
  get closed(): boolean {
    return this.closing;
  }

  /**
   * Stops listening for changes and closes the store's connections (Redis, PostgreSQL). Watchers are told at once
   * (requests held by hold and release are answered). Bounded: when the store does not finish closing within
   * `timeoutMs` (a stalled server), its connections are dropped, so a process can always exit. Safe to call twice.
   * @param options.timeoutMs how long a graceful close may take. @default storeTimeoutMs
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      this.notifyWatchers();
    }
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const graceful = (async () => {
      await this.feed?.close();
      await this.keyv.disconnect?.();
    })();
    try {
      await withTimeout(graceful, options.timeoutMs ?? this.config.storeTimeoutMs, 'Closing the store');
    } catch {
      // a stalled server (or already closed): drop the connections instead of waiting
      destroyStore(this.keyv);
    }
  }

  /** Subscribes to the store's change feed on first use (so a CLI run opens no subscriber connection). */
  private listen(): void {
    if (this.unsubscribe || !this.feed || this.config.cacheTtlMs === 0) return;
    this.unsubscribe = this.feed.subscribe((change) => this.readAgain(change.scope));
    // Changes made before we listened were not pushed to us: whatever we hold (e.g. from our own write) is re-read.
    this.cache.invalidate();
    if (this.scopeCache.known) this.scopeCache.invalidate();
  }

  /** Puts one scope's state into the table held in memory (when there is one). */
  private acceptScope(scope: string, state: MaintenanceState): void {
    if (this.scopeCache.known) this.scopeCache.accept(withScope(this.scopeCache.peek(), scope, state));
  }

  /** Emits `enabled`, `disabled` or `scheduled` when the state in force (global, or of `scope`) changes meaning. */
  private announce(previous: MaintenanceState | undefined, next: MaintenanceState, scope?: string): void {
    const now = new Date();
    const to = summarize(next, now);
    if (previous !== undefined && summarize(previous, now) === to && previous.enabled === next.enabled) return;
    if (previous === undefined && !next.enabled) return; // the first read of an off state is no change
    const event = to === 'off' ? 'disabled' : to === 'scheduled' ? 'scheduled' : 'enabled';
    if (scope === undefined) this.emit(event, next);
    else this.emit(event, next, scope);
  }

  /**
   * Lands the state with its history entry and the change message (see {@link StateStore.commit}). A corrupt stored
   * state is overwritten (the history says the previous value was unreadable). When the outcome is unknown (a
   * timeout), what this instance holds is read again, so it converges on whatever the store ends up with.
   */
  private async write(state: MaintenanceState, source = 'service', by = state.updatedBy, scope?: string) {
    if (this.config.mode !== undefined) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_MODE_FORCED',
        `The state is forced by the mode option (mode: ${this.config.mode}); remove mode to switch maintenance with enable()/disable().`,
      );
    }
    const previous = await this.previousState(scope);
    const entry = historyEntry(previous, state, source, new Date(), by, scope);
    try {
      await this.store.commit({ scope, state, entry });
    } catch (err) {
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN') this.readAgain(scope);
      throw err;
    }
    if (scope === undefined) this.cache.accept(state);
    else this.acceptScope(scope, state);
  }

  /**
   * Reads the global state, or the table of scopes, again: after a change message (which names what changed, never
   * the state) or a write whose outcome is unknown. Without a table in memory the first use of scopes reads it anyway.
   */
  private readAgain(scope: string | undefined): void {
    if (scope === undefined) this.cache.invalidate();
    else if (this.scopeCache.known) this.scopeCache.invalidate();
  }

  /**
   * The stored state before a write, for the history's `from`: `'unreadable'` when it is corrupt, the last known one
   * when the store cannot say.
   */
  private async previousState(scope: string | undefined): Promise<MaintenanceState | 'unreadable'> {
    const before = scope === undefined ? await this.store.read() : await this.store.readScope(scope);
    if (before.ok) return before.state;
    return before.error.code === 'ERR_MAINTENANCE_STATE_CORRUPT' ? 'unreadable' : this.lastKnownState(scope);
  }
}

/** Drops the store's connections at once, when it offers that. */
function destroyStore(keyv: KeyvLike): void {
  const destroy = (keyv as { [STORE_DESTROY]?: () => void })[STORE_DESTROY];
  try {
    destroy?.();
  } catch {
    // already closed
  }
}

/** The validated scope of `opts`, or undefined for the global state. */
function scopeOf(opts: { readonly scope?: string }): string | undefined {
  return opts.scope === undefined ? undefined : checkScopeName(opts.scope);
}

/** Registers `cls` with TypeDI (for classes built at run time, such as the maintenance controller). */
export function registerService(cls: new () => object): void {
  (Service() as (target: object) => void)(cls);
}

/** The service the middleware and helpers use by default: `Container.get(MaintenanceService)`. */
export function defaultService(): MaintenanceService {
  return Container.get(MaintenanceService);
}

/** Whether maintenance is active, per the container's service. */
export function getMaintenanceMode(): Promise<boolean> {
  return defaultService().isEnabled();
}

/** Switches maintenance on (`true`) or off (`false`) through the container's service. */
export async function setMaintenanceMode(value: boolean): Promise<void> {
  if (typeof value !== 'boolean') {
    throw new TypeError(`setMaintenanceMode(value) takes true or false; received ${JSON.stringify(value)}.`);
  }
  const service = defaultService();
  await (value ? service.enable() : service.disable());
}
