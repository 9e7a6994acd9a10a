/**
 * Who hears of a change of the state in force — by a read, a push, a write or the outage policy: the service's
 * listeners (`enabled`, `disabled` or `scheduled` when it changes meaning; `storeError` when a read fails), the
 * webhooks (a change made elsewhere is told once per fleet), the memo of next occurrences (prepared off the request
 * path) and `watch()` listeners (held requests are released the moment maintenance ends).
 */
import type { MaintenanceError } from '../core/errors.js';
import { summarize } from '../core/history.js';
import type { MaintenanceState } from '../core/state.js';
import type { ScopeStates } from '../store/state-store.js';
import type { ChangeNotices } from './notify-changes.js';
import { changedScopes } from './scope-cache.js';
import type { ServiceEmitter } from './service-events.js';
import type { Upcoming } from './upcoming.js';

/** Settings of {@link ChangeRelay}. */
export interface ChangeRelaySettings {
  /** The service, whose listeners are told. */
  readonly events: ServiceEmitter;
  readonly notices: Pick<ChangeNotices, 'observed' | 'refreshClock'>;
  readonly upcoming: Pick<Upcoming, 'prepare'>;
}

/** The relay of one service: its caches report to it. */
export class ChangeRelay {
  private readonly watchers = new Set<() => void>();

  constructor(private readonly s: ChangeRelaySettings) {}

  /** Calls `listener` after every change; returns the function that stops it. */
  watch(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** Tells the `watch()` listeners (and the notification clock) that something changed. */
  settled(): void {
    this.s.notices.refreshClock();
    for (const listener of [...this.watchers]) listener();
  }

  /** A read of the state or of the scope table failed. */
  readFailed(error: MaintenanceError): void {
    if (this.s.events.listenerCount('storeError') > 0) this.s.events.emit('storeError', error);
  }

  /** The global state in force changed. */
  globalChanged(previous: MaintenanceState | undefined, next: MaintenanceState): void {
    this.s.upcoming.prepare(next);
    this.s.notices.observed(previous, next);
    this.announce(previous, next);
    this.settled();
  }

  /** The table of scoped states changed (`previous` undefined: its first read). */
  scopesChanged(previous: ScopeStates | undefined, next: ScopeStates): void {
    for (const c of changedScopes(previous, next)) {
      // The table's first read is what is on already, not a change: nothing to tell (it was told when made).
      if (previous !== undefined) this.s.notices.observed(c.previous, c.next, c.scope);
      this.announce(c.previous, c.next, c.scope);
    }
    this.settled();
  }

  /** Emits `enabled`, `disabled` or `scheduled` when the state in force (global, or of `scope`) changes meaning. */
  private announce(previous: MaintenanceState | undefined, next: MaintenanceState, scope?: string): void {
    const now = new Date();
    const to = summarize(next, now);
    if (previous !== undefined && summarize(previous, now) === to && previous.enabled === next.enabled) return;
    if (previous === undefined && !next.enabled) return; // the first read of an off state is no change
    const event = to === 'off' ? 'disabled' : to === 'scheduled' ? 'scheduled' : 'enabled';
    if (scope === undefined) this.s.events.emit(event, next);
    else this.s.events.emit(event, next, scope);
  }
}
