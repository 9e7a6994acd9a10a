/**
 * A service's link to its fleet, the instances that serve its store: it joins (its presence reported by `fleet.ts`'s
 * member, a drain told at once), looks at the instances, and waits for them to apply a revision and drain
 * (`fleet-wait.ts`). A store that keeps no presence of instances (plain keyv) has no fleet.
 */
import { MaintenanceError } from '../core/errors.js';
import {
  type Fleet,
  fleetOf,
  isPresenceInterval,
  PRESENCE_DEFAULTS,
  PRESENCE_INTERVAL_BOUNDS,
  type PresenceStore,
} from '../core/presence.js';
import { checkScopeName } from '../core/scope.js';
import { blocksRequests } from '../core/state.js';
import { windowsOf } from '../core/windows.js';
import type { MaintenanceLogger, StateStore } from '../store/state-store.js';
import { createFleetMember, type FleetMember, type InFlight } from './fleet.js';
import { createPresenceFeed, type PresenceFeed, waitForFleet } from './fleet-wait.js';
import { packageVersion } from './package-version.js';
import type { StateCaches, StateView } from './state-view.js';
import type { StoreSync } from './store-sync.js';

/** Options of `MaintenanceService.waitForFleet`. */
export interface WaitForFleetOptions {
  /** Wait for this scope's state (its drain); undefined waits for the whole site. @default undefined */
  readonly scope?: string;
  /**
   * Wait also until no instance runs a request it let in before maintenance became active for it (only while the state
   * waited for blocks requests). @default true
   */
  readonly drained?: boolean;
  /** Give up after this many milliseconds with `ERR_MAINTENANCE_FLEET_TIMEOUT`. @default 30000 */
  readonly timeoutMs?: number;
  /** Stops the wait when it aborts, rejecting `ERR_MAINTENANCE_WAIT_ABORTED` (e.g. its HTTP client hung up). @default undefined */
  readonly signal?: AbortSignal;
}

/** Defaults of {@link WaitForFleetOptions}. */
export const FLEET_WAIT_DEFAULTS = Object.freeze({ drained: true, timeoutMs: 30_000 });

/** Settings of {@link FleetLink}. */
export interface FleetLinkSettings {
  readonly store: Pick<StateStore, 'readRevision' | 'description'>;
  /** The store's presence of instances, when it keeps one. */
  readonly presence: () => PresenceStore | undefined;
  /** The forced state, if any (a forced instance joins no fleet). */
  readonly mode: boolean | undefined;
  readonly logger: MaintenanceLogger;
  readonly caches: StateCaches;
  readonly view: Pick<StateView, 'getStoredState' | 'lastKnownState'>;
  readonly sync: Pick<StoreSync, 'applied' | 'catchUp' | 'listen'>;
  /** The requests this instance runs (what a drain waits for). */
  readonly inFlight: InFlight;
  /** Whether the service is closed (it joins no fleet then). */
  readonly closed: () => boolean;
  /** Called once joined, after the change feed is subscribed (the notification clock starts). */
  readonly onJoined: () => void;
  /** A wait settled: every live instance applied the revision (and drained). */
  readonly onSettled: (fleet: Fleet) => void;
  /** Calls `listener` after every change of the states held (the change relay's `watch`); returns the unwatch. */
  readonly watchChanges: (listener: () => void) => () => void;
}

/** The fleet of one service (each public method is the service's method of the same name, or its part of one). */
export class FleetLink {
  private member: FleetMember | undefined;
  private readonly heldSources = new Set<() => number>();
  /** The reports pushed to this service's waits (opened by the first wait). */
  private presenceFeed?: PresenceFeed;
  /** Stops {@link watchDrains} following the changes (set while joined). */
  private unwatch?: () => void;

  constructor(private readonly s: FleetLinkSettings) {}

  /** Whether this instance joined its fleet (and has not left it). */
  get joined(): boolean {
    return this.member !== undefined;
  }

  /** Joins the fleet (a no-op without presence, under a forced `mode`, once closed, and when joined already). */
  joinFleet(options: { intervalMs?: number } = {}): void {
    const intervalMs = options.intervalMs ?? PRESENCE_DEFAULTS.intervalMs;
    if (!isPresenceInterval(intervalMs)) {
      const { min, max } = PRESENCE_INTERVAL_BOUNDS;
      throw new MaintenanceError(
        'ERR_MAINTENANCE_INVALID_OPTION',
        `joinFleet() intervalMs must be a whole number of milliseconds from ${min} to ${max}; received ${JSON.stringify(intervalMs)}.`,
      );
    }
    const { caches, sync } = this.s;
    const presence = this.s.presence();
    if (this.member || this.s.closed() || !presence || this.s.mode !== undefined) return;
    // Stale to the fleet after a few missed reports, so not waited for: never fresh for longer than one (#30).
    caches.global.freshAtMost(intervalMs);
    caches.scopes.freshAtMost(intervalMs);
    this.member = createFleetMember({
      presence,
      intervalMs,
      version: packageVersion(),
      logger: this.s.logger,
      facts: {
        applied: () => sync.applied,
        inFlight: this.s.inFlight,
        scopes: () => caches.scopes.peek().keys(),
        held: () => [...this.heldSources].reduce((n, held) => n + held(), 0),
        catchUp: () => sync.catchUp(),
      },
    });
    sync.listen();
    this.s.onJoined();
    this.watchDrains();
    this.unwatch = this.s.watchChanges(() => this.watchDrains());
  }

  /**
   * Tells the in-flight counts which of them a drain may wait for, so {@link drained} is called only for those: all
   * while the site-wide state is on or any recurring window is defined (its occurrences start without a change), else
   * the scopes whose stored state is on. A superset of what `drained()` reports: it still checks the clock.
   */
  private watchDrains(): void {
    if (!this.member) return;
    const global = this.s.caches.global.peek();
    if (global.enabled || windowsOf(global).length > 0) {
      this.s.inFlight.watch('all');
      return;
    }
    const on = new Set<string>();
    for (const [scope, state] of this.s.caches.scopes.peek()) if (state.enabled) on.add(scope);
    this.s.inFlight.watch(on);
  }

  /** Counts the requests a hold keeps waiting (reported with the presence). */
  trackHeld(held: () => number): void {
    this.heldSources.add(held);
  }

  /** The instances that serve the store, compared with its current revision. */
  async fleet(scope?: string): Promise<Fleet> {
    const presence = this.presence();
    const name = scope === undefined ? undefined : checkScopeName(scope);
    await presence.open?.(); // a fleet seen for the first time (file store): instances that ran before join it first
    const [revision, records] = await Promise.all([this.s.store.readRevision(), presence.list()]);
    return fleetOf(records, revision, new Date(), name);
  }

  /** Resolves once every live instance applied the store's current revision (and drained). */
  async waitForFleet(options: WaitForFleetOptions = {}): Promise<Fleet> {
    const presence = this.presence();
    const { store, view } = this.s;
    const scope = options.scope === undefined ? undefined : checkScopeName(options.scope);
    const drained = options.drained ?? FLEET_WAIT_DEFAULTS.drained;
    const timeoutMs = options.timeoutMs ?? FLEET_WAIT_DEFAULTS.timeoutMs;
    const [revision, state] = await Promise.all([store.readRevision(), view.getStoredState(scope)]);
    const blocking =
      blocksRequests(state, new Date()) ||
      (scope !== undefined && blocksRequests(await view.getStoredState(), new Date()));
    this.presenceFeed ??= createPresenceFeed(presence);
    const target = { revision, scope, drained: drained && blocking, timeoutMs, signal: options.signal };
    const fleet = await waitForFleet(presence, this.presenceFeed, target);
    this.s.onSettled(fleet);
    return fleet;
  }

  /** This instance's next report, soon (a no-op when it has not joined). */
  reportSoon(): void {
    this.member?.reportSoon();
  }

  /** Requests let in before maintenance finished: a wait for the drain hears of it now, not at the next heartbeat. */
  drained(scope: string | undefined): void {
    if (!this.member) return;
    const global = this.s.caches.global.peek();
    const scoped = scope === undefined ? undefined : this.s.view.lastKnownState(scope);
    if (!global.enabled && !scoped?.enabled) return; // the usual case, on every request while off: no clock, no report
    const now = new Date();
    if (blocksRequests(global, now) || (scoped !== undefined && blocksRequests(scoped, now))) this.member.reportSoon();
  }

  /** Closes the feed of reports the waits listen to. */
  stopWaits(): void {
    this.presenceFeed?.close();
  }

  /** Leaves the fleet at once (a store that is down forgets the record later). */
  async leave(): Promise<void> {
    const member = this.member;
    this.member = undefined;
    this.unwatch?.();
    this.s.inFlight.watch(new Set());
    await member?.leave().catch(() => undefined);
  }

  private presence(): PresenceStore {
    const presence = this.s.presence();
    if (presence) return presence;
    throw new MaintenanceError(
      'ERR_MAINTENANCE_NO_FLEET',
      `${this.s.store.description} keeps no presence of instances; the fleet needs Redis, PostgreSQL or the file store.`,
    );
  }
}
