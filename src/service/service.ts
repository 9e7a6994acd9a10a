/** `MaintenanceService`: the TypeDI service that reads and writes the state; the only file importing typedi. */
import 'reflect-metadata';
import { Container, Service } from 'typedi';
import type { HistoryEntry } from '../core/history.js';
import type { Fleet } from '../core/presence.js';
import type { DisableOptions, EnableOptions, MaintenanceState } from '../core/state.js';
import type { TokenInfo, TokenRequest } from '../core/tokens.js';
import type { Occurrence, RecurringWindow, WindowDefinition } from '../core/windows.js';
import type { MaintenanceStore } from '../store/maintenance-store.js';
import { openStore } from '../store/select-store.js';
import { createStateStore, type ScopeStates, type StateStore, withTimeout } from '../store/state-store.js';
import { createInFlight, type InFlight } from './fleet.js';
import type { WaitForFleetOptions } from './fleet-link.js';
import { type GuardOptions, type GuardResult, guard, type WaitUntilOffOptions, waitUntilOff } from './job-gate.js';
import { type MaintenanceServiceEvents, ServiceEvents } from './service-events.js';
import {
  type MaintenanceServiceConfig,
  type MaintenanceServiceOptions,
  resolveServiceOptions,
} from './service-options.js';
import { createServiceParts, type ServiceParts } from './service-parts.js';
import {
  type SwitchActor,
  type SwitchOnRequest,
  type SwitchOutcome,
  switchOff,
  switchOn,
  wouldSwitch,
} from './switching.js';
import { type CreatedToken, createTokenVault, type TokenVault } from './token-vault.js';

export type { WaitForFleetOptions } from './fleet-link.js';
export { FLEET_WAIT_DEFAULTS } from './fleet-link.js';
export type { MaintenanceServiceEvents } from './service-events.js';

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
export class MaintenanceService extends ServiceEvents<MaintenanceServiceEvents> {
  /** The resolved options. */
  readonly config: MaintenanceServiceConfig;
  /** Requests let into the app while maintenance was off for them, still running (what a drain waits for). */
  readonly inFlight: InFlight = createInFlight((scope) => this.parts.fleet.drained(scope));
  private readonly store: StateStore;
  private readonly storage: MaintenanceStore;
  private readonly parts: ServiceParts;
  private closing = false;
  private vault: TokenVault | undefined;

  constructor(options?: MaintenanceServiceOptions) {
    super();
    this.config = resolveServiceOptions(options, process.env, process.cwd(), console);
    this.storage = openStore(this.config);
    this.store = createStateStore({
      store: this.storage,
      timeoutMs: this.config.storeTimeoutMs,
      logger: this.config.logger,
    });
    this.parts = createServiceParts({
      config: this.config,
      store: this.store,
      events: this,
      inFlight: this.inFlight,
      closed: () => this.closing,
      feed: this.storage.changeFeed,
      presence: () => this.storage.presence,
      claims: () => this.storage.claims,
    });
  }

  /**
   * The global state in force: the forced `mode` if set, else the stored state, from memory when it was read less
   * than `cacheTtlMs` ago (changes pushed by the store's change feed arrive at once). When the store fails or times
   * out: the last known state for `cacheTtlMs`, then `{ enabled: fallbackValue }`. Never throws.
   * With `scope`: that scope's own state, cached the same way (off when it has none, and under a forced `mode`).
   */
  getState(scope?: string): Promise<MaintenanceState> {
    return this.parts.view.getState(scope);
  }

  /** Every enabled scoped state, from memory under the same cache policy as the global state. Never throws. */
  scopeStates(): Promise<ScopeStates> {
    return this.parts.view.scopeStates();
  }

  /** The scope table this service last read, wrote or was pushed, synchronously (empty until scopes are used). */
  knownScopeStates(): ScopeStates {
    return this.parts.view.knownScopeStates();
  }

  /** {@link MaintenanceService.scopeStates} when no read is due, synchronously; else undefined. */
  freshScopeStates(): ScopeStates | undefined {
    return this.parts.view.freshScopeStates();
  }

  /**
   * The state from memory when no read is due (forced `mode`, or read less than `cacheTtlMs` ago while listening
   * for changes), synchronously; undefined when {@link MaintenanceService.getState} must be awaited. The
   * middleware's fast path.
   */
  freshState(): MaintenanceState | undefined {
    return this.parts.view.freshState();
  }

  /**
   * The stored state, read now, for callers that must not act on a cached or fallback state (toggle routes, CLI):
   * a failing, timing-out or corrupt store throws `MaintenanceError`.
   */
  getStoredState(scope?: string): Promise<MaintenanceState> {
    return this.parts.view.getStoredState(scope);
  }

  /**
   * The stored state of `scope` (or the global one) for a switch: like {@link MaintenanceService.getStoredState}, but
   * a corrupt stored state gives `undefined` instead of throwing, since switching overwrites it. Other failures throw.
   */
  storedStateForSwitch(scope?: string): Promise<MaintenanceState | undefined> {
    return this.parts.view.storedStateForSwitch(scope);
  }

  /**
   * Every scope whose stored state is enabled (scheduled ones included), sorted by name, read now.
   * Throws `MaintenanceError` when the store cannot be read.
   */
  scopes(): Promise<Array<{ scope: string; state: MaintenanceState }>> {
    return this.parts.view.scopes();
  }

  /**
   * Whether maintenance is active now (forced `mode`, stored state and its `[start, end)` window). With `scope`:
   * whether requests of that scope are in maintenance, i.e. the global state or the scope's state is active.
   */
  isEnabled(scope?: string): Promise<boolean> {
    return this.parts.view.isEnabled(scope);
  }

  /**
   * Whether the last read of the state failed (with `scope`: or of the scope table), so the state in force is the
   * last known one or the `fallbackValue`, not one read. For consumers that must not act on a fallback: a worker
   * paused for maintenance stays paused until a read says off.
   */
  readFailing(scope?: string): boolean {
    return this.parts.view.readFailing(scope);
  }

  /**
   * The last state this service read, wrote or was pushed, synchronously (no I/O); off until the first read.
   * With `scope`: that scope's last known state (off when scopes were never read here).
   */
  lastKnownState(scope?: string): MaintenanceState {
    return this.parts.view.lastKnownState(scope);
  }

  /**
   * The state of `scope` (or the global one) as this service's last write left it: from memory for the global state,
   * read back for a scope (the table of scopes is held only where something uses scopes). For callers that report
   * what they just switched (toggle routes, CLI, job helpers).
   */
  stateAfterWrite(scope?: string): Promise<MaintenanceState> {
    return this.parts.view.stateAfterWrite(scope);
  }

  /** Store reads made by this service so far (cache misses and refreshes of the state and of the scope table). */
  get storeReads(): number {
    return this.parts.view.storeReads();
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
  enable(opts: EnableOptions = {}): Promise<void> {
    return this.parts.writes.enable(opts);
  }

  /** Switches maintenance off (the whole site, or `scope`). Throws like {@link MaintenanceService.enable}. */
  disable(opts: DisableOptions = {}): Promise<void> {
    return this.parts.writes.disable(opts);
  }

  /**
   * Switches on as every operator surface does (CLI, toggle routes, status page, control API): a plain on makes a dry
   * run real, starts a scheduled window now and revokes its bypass secret; window fields edit a live window; a lapsed
   * lease counts as nothing stored. Returns what changed. Throws like {@link MaintenanceService.enable}.
   */
  switchOn(request: SwitchOnRequest = {}): Promise<SwitchOutcome> {
    return switchOn(this, request);
  }

  /**
   * Switches off as every operator surface does: writes off when anything is on — a stored state (a lapsed lease is
   * cleared) or a recurring window's occurrence in progress (ended; the window recurs) — and otherwise changes nothing.
   * Returns what changed. Throws like {@link MaintenanceService.disable}.
   */
  switchOff(request: SwitchActor = {}): Promise<SwitchOutcome> {
    return switchOff(this, request);
  }

  /**
   * The state in force now for `scope` (or the whole site), read from the store this moment: the stored state with
   * the recurring windows applied, so an occurrence in progress shows as on (its `window`, `start`, `end`) — what
   * operators see (`status`, the control API's `GET /state`, the status page). Throws when the store cannot be read.
   */
  stateInForceNow(scope?: string): Promise<MaintenanceState> {
    return this.parts.view.stateInForceNow(scope);
  }

  /**
   * Whether a recurring window's occurrence is in force for `scope` (site-wide when undefined) now, read from the
   * store (a scoped switch may come from a process that never read the site-wide state, which holds the windows).
   */
  occurrenceInProgress(scope?: string): Promise<boolean> {
    return this.parts.schedule.occurrenceInProgress(scope);
  }

  /** The state in force for `scope` now: from memory for the whole site, read for a scope. */
  stateInForce(scope?: string): Promise<MaintenanceState> {
    return this.parts.view.stateInForce(scope);
  }

  /** The site-wide state in force given a stored one just read (the recurring windows applied), without reading. */
  stateInForceOf(stored: MaintenanceState): MaintenanceState {
    return this.parts.view.stateInForceOf(stored);
  }

  /** Whether `switchOn(request)` / `switchOff(request)` would change anything now; changes nothing. */
  wouldSwitch(target: 'on' | 'off', request: SwitchOnRequest = {}): Promise<boolean> {
    return wouldSwitch(this, target, request);
  }

  /**
   * Recurring windows: adds one (RFC 5545 `rrule` in the IANA zone `tz`, the first occurrence at the local time
   * `start`, each lasting `durationMinutes`). Stored with the state, pushed like it; an occurrence in progress acts
   * like an enabled state with that start and end. Throws `ERR_MAINTENANCE_INVALID_WINDOW` naming the field.
   */
  addWindow(def: WindowDefinition): Promise<RecurringWindow> {
    return this.parts.schedule.addWindow(def);
  }

  /** Removes the window `id` (its occurrence in progress ends). Throws `ERR_MAINTENANCE_INVALID_WINDOW` if none. */
  removeWindow(id: string, opts: { by?: string } = {}): Promise<void> {
    return this.parts.schedule.removeWindow(id, opts);
  }

  /**
   * The next `count` occurrences (default 3) of one window, in progress first, from now: what `window add` confirms
   * and `window list` shows. None for a window whose rule cannot be expanded.
   */
  occurrencesOf(window: RecurringWindow, count = 3): Occurrence[] {
    return this.parts.schedule.occurrencesOf(window, count);
  }

  /** The recurring windows defined, read now. Throws `MaintenanceError` when the store cannot be read. */
  windows(): Promise<readonly RecurringWindow[]> {
    return this.parts.schedule.windows();
  }

  /**
   * The next occurrences (in progress first), in time order, from memory: `count` of them (default 10) ending after
   * `from` (default now); with `scope`, those that put that scope in maintenance (its own and the site-wide ones);
   * `dryRuns: false` leaves out dry-run windows (what the public status and the calendar feed show).
   */
  upcoming(options: { from?: Date; count?: number; scope?: string; dryRuns?: boolean } = {}): Occurrence[] {
    return this.parts.schedule.upcoming(options);
  }

  /**
   * Writes back a state read earlier (e.g. the one before a `withMaintenanceOn` job), exactly as it was,
   * including its schedule, message and author. Throws like {@link MaintenanceService.enable}.
   */
  restore(state: MaintenanceState, opts: { source?: string; by?: string; scope?: string } = {}): Promise<void> {
    return this.parts.writes.restore(state, opts);
  }

  /**
   * Renews the lease of the stored state (global, or of `scope`) switched on with `enable({ leaseMs })`: it lapses
   * `leaseMs` from now instead. Quiet: no history entry (the switch on has one). Throws `MaintenanceError` when the
   * state has no lease, the store cannot be written, or `mode` forces the state.
   */
  renewLease(scope?: string): Promise<void> {
    return this.parts.writes.renewLease(scope);
  }

  /** The store revision this instance serves (every change up to it has been read). */
  get appliedRevision(): number {
    return this.parts.sync.applied;
  }

  /**
   * Joins the fleet of the store (called by `maintenance()` when it serves its first request): this instance reports
   * its presence now, when it applies a revision, and every `intervalMs`. A no-op for stores that keep no presence
   * (plain keyv), for a forced `mode`, and when already joined. Throws `ERR_MAINTENANCE_INVALID_OPTION` for an
   * `intervalMs` outside 100–600000 (its records would look forged to the others, who would not wait for it).
   * It also starts this instance's part in the `silence` option's Alertmanager silences (whatever the store; not under a
   * forced `mode`).
   */
  joinFleet(options: { intervalMs?: number } = {}): void {
    this.parts.fleet.joinFleet(options);
    this.startSilences();
  }

  /**
   * Starts this instance's part in the `silence` option's Alertmanager silences (a no-op without the option, under a
   * forced `mode`, once closed, and when started already). `joinFleet()` calls it, and so does `maintenance()` on its
   * first request with `presence: false`: an app that serves requests silences, whether it joins a fleet or not.
   */
  startSilences(): void {
    if (this.config.mode === undefined && !this.closing) this.parts.silences.start();
  }

  /**
   * API tokens (`maintenanceApi()`): makes one, allowed `allow` (on, off, windows, read), for `scope` only when
   * given, expiring after `ttlMs` when given. The token is returned once; the store keeps its SHA-256 only.
   * Throws `ERR_MAINTENANCE_INVALID_OPTION` naming the bad field, or a store error.
   */
  createToken(request: TokenRequest): Promise<CreatedToken> {
    return this.tokenVault().create(request);
  }

  /** The tokens made (never a token or its hash), oldest first. Throws `MaintenanceError` when the store fails. */
  tokens(): Promise<TokenInfo[]> {
    return this.tokenVault().list();
  }

  /** Revokes the token `id`: refused from the next request on, on every instance. Throws `ERR_MAINTENANCE_UNKNOWN_TOKEN`. */
  revokeToken(id: string): Promise<void> {
    return this.tokenVault().revoke(id);
  }

  /**
   * The token's details when it is known and not expired, else undefined (never saying which); read from the store
   * each time. Throws `MaintenanceError` when the store cannot be read.
   */
  authenticateToken(token: string): Promise<TokenInfo | undefined> {
    return this.tokenVault().authenticate(token);
  }

  private tokenVault(): TokenVault {
    this.vault ??= createTokenVault(this.storage.tokens, this.store.description, this.config.storeTimeoutMs);
    return this.vault;
  }

  /**
   * How long before its start a middleware of this service announces a window (`announceBeforeSeconds`): the next
   * occurrence of a recurring window is put in force (as a scheduled state) from then on. `maintenance()` calls it.
   */
  announceAhead(ms: number): void {
    this.parts.view.announceAhead(ms);
  }

  /**
   * Runs `fn` (a job, a scheduled task) unless maintenance — of `scope` or the whole site — blocks it now, read
   * through the cache policy (no extra store read): `{ ran: true, value }` or `{ ran: false, state }` (the state that
   * stopped it). `runDuringMaintenance` runs it anyway. While `fn` runs it counts as this instance's in-flight work,
   * so `waitForFleet({ drained })` and `maintenance-mode run` wait for it; the process joins the fleet.
   * @example const r = await service.guard(() => sendNewsletter()); if (!r.ran) console.log('skipped: maintenance');
   */
  guard<T>(fn: () => T | Promise<T>, options: GuardOptions = {}): Promise<GuardResult<T>> {
    return guard(this, fn, options);
  }

  /**
   * Resolves when maintenance of `scope` (and the whole site) is off — at once when it is, on the store's push when
   * it ends, within 250 ms when a window ends by the clock. Rejects `ERR_MAINTENANCE_WAIT_ABORTED` when `signal`
   * aborts and `ERR_MAINTENANCE_WAIT_TIMEOUT` after `timeoutMs`.
   */
  waitUntilOff(options: WaitUntilOffOptions = {}): Promise<void> {
    return waitUntilOff(this, options);
  }

  /** Counts the requests a hold of this service keeps waiting (reported with the presence). */
  trackHeld(held: () => number): void {
    this.parts.fleet.trackHeld(held);
  }

  /**
   * The instances that serve this store: what each has applied, runs and holds, compared with the store's current
   * revision. On the file store the first look at a state file's fleet opens it (instances keep records only then)
   * and gives the instances that ran before 1 s to join. Throws `ERR_MAINTENANCE_NO_FLEET` for a store that keeps no
   * presence (plain keyv).
   */
  fleet(scope?: string): Promise<Fleet> {
    return this.parts.fleet.fleet(scope);
  }

  /**
   * Resolves once every live instance (not stale) has applied the store's current revision and, with `drained` while
   * the state waited for blocks requests, runs no request it let in before; rejects `ERR_MAINTENANCE_FLEET_TIMEOUT`
   * (its `.fleet` says who is behind, and with what) after `timeoutMs`. Emits `fleet-settled` when it resolves. On
   * the file store a wait never settles within 1 s of the fleet's opening (the first switch or look on a state file),
   * so instances that served before it and join as they see it are counted.
   */
  waitForFleet(options: WaitForFleetOptions = {}): Promise<Fleet> {
    return this.parts.fleet.waitForFleet(options);
  }

  /**
   * Calls `listener` (synchronously, no arguments) whenever the global state or a scoped state this service holds
   * changes — by a push, a read, a write or the outage policy. Returns the function that stops it. Used to release
   * held requests the moment maintenance ends.
   */
  watch(listener: () => void): () => void {
    return this.parts.relay.watch(listener);
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
    const { relay, sync, notices, fleet, silences } = this.parts;
    if (!this.closing) {
      this.closing = true;
      relay.settled();
    }
    sync.stop();
    notices.stopClock();
    silences.stop(); // its silences stay: the fleet's maintenance goes on without this instance
    fleet.stopWaits();
    await notices.flush(); // what this instance wrote is told before it goes
    await silences.flush(SILENCE_FLUSH_MS); // a call to Alertmanager on its way, and the entry naming its silence
    const graceful = (async () => {
      await fleet.leave(); // at once; a store that is down forgets this instance later
      await this.storage.close(); // its change feed and its connections
    })();
    try {
      await withTimeout(graceful, options.timeoutMs ?? this.config.storeTimeoutMs, 'Closing the store');
    } catch {
      // a stalled server (or already closed): drop the connections instead of waiting
      destroyStore(this.storage);
    }
  }
}

/** How long `close()` waits for a call to Alertmanager on its way (each is bounded by 5 s). */
const SILENCE_FLUSH_MS = 6000;

/** Drops the store's connections at once, when it offers that. */
function destroyStore(store: MaintenanceStore): void {
  try {
    store.destroy?.();
  } catch {
    // already closed
  }
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
