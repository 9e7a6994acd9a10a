/**
 * The parts of a `MaintenanceService`, built and wired once. The class keeps the public surface and each of its
 * methods delegates to one part: reads to the state view, switches to the writes, windows to the schedule, the fleet
 * to the fleet link; the caches report changes to the relay, which tells the listeners and the notices.
 */
import type { ChangeFeed } from '../core/change-feed.js';
import type { ClaimStore } from '../core/claims.js';
import type { PresenceStore } from '../core/presence.js';
import type { StateStore } from '../store/state-store.js';
import { ChangeRelay } from './change-relay.js';
import type { InFlight } from './fleet.js';
import { FleetLink } from './fleet-link.js';
import { ChangeNotices } from './notify-changes.js';
import type { ServiceEmitter } from './service-events.js';
import type { MaintenanceServiceConfig } from './service-options.js';
import { Silencer } from './silences.js';
import { createStateCaches, type StateCaches, StateView } from './state-view.js';
import { StateWrites } from './state-writes.js';
import { StoreSync } from './store-sync.js';
import { createUpcoming } from './upcoming.js';
import { WindowSchedule } from './window-schedule.js';

/** What the parts are built from: the service's options, its state store and the capabilities of its MaintenanceStore. */
export interface ServicePartsSettings {
  readonly config: MaintenanceServiceConfig;
  readonly store: StateStore;
  /** The service, which emits the events. */
  readonly events: ServiceEmitter;
  /** The requests the service let in and still runs (what a drain waits for). */
  readonly inFlight: InFlight;
  /** Whether the service is closed. */
  readonly closed: () => boolean;
  /** The store's change feed, when it has one. */
  readonly feed: ChangeFeed | undefined;
  /** The store's presence of instances, when it keeps one. */
  readonly presence: () => PresenceStore | undefined;
  /** The store's claims (once per fleet), asked when first needed. */
  readonly claims: () => ClaimStore;
}

/** The parts of one service. */
export interface ServiceParts {
  readonly notices: ChangeNotices;
  readonly relay: ChangeRelay;
  readonly caches: StateCaches;
  readonly sync: StoreSync;
  readonly view: StateView;
  readonly writes: StateWrites;
  readonly schedule: WindowSchedule;
  readonly fleet: FleetLink;
  readonly silences: Silencer;
}

/** Builds the parts of one service (a forced `mode` is held from the start). */
export function createServiceParts(s: ServicePartsSettings): ServiceParts {
  const { config, store, events } = s;
  const { mode, logger } = config;
  const upcoming = createUpcoming(logger);
  const notices = new ChangeNotices({
    targets: config.notify,
    logger,
    claims: s.claims,
    onFailure: (failure) => events.emit('notify-failed', failure),
    onDelivered: (event, url) => events.emit('notified', event, url),
  });
  const relay = new ChangeRelay({ events, notices, upcoming });
  const caches = createStateCaches({ store, config, on: relay });
  const sync: StoreSync = new StoreSync({
    store,
    feed: s.feed,
    cacheTtlMs: config.cacheTtlMs,
    caches,
    fleet: { joined: () => fleet.joined, reportSoon: () => fleet.reportSoon() },
  });
  const view = new StateView({ store, config, caches, sync, onInvalid: upcoming.onInvalid });
  const writes = new StateWrites({ store, mode, caches, view, sync, notices });
  const schedule = new WindowSchedule({ mode, caches, view, writes, notices, upcoming });
  const fleet: FleetLink = new FleetLink({
    store,
    presence: s.presence,
    mode,
    logger,
    caches,
    view,
    sync,
    inFlight: s.inFlight,
    closed: s.closed,
    onJoined: () => notices.startClock((from) => schedule.planned(from)),
    onSettled: (settled) => events.emit('fleet-settled', settled),
    watchChanges: (listener) => relay.watch(listener),
  });
  const silences = createSilencer(s, { view, schedule, relay });
  return { notices, relay, caches, sync, view, writes, schedule, fleet, silences };
}

/** The silences of one service (`silence`), looking at the states through its view, windows and relay. */
function createSilencer(s: ServicePartsSettings, parts: Pick<ServiceParts, 'view' | 'schedule' | 'relay'>): Silencer {
  const { config } = s;
  return new Silencer({
    configs: config.silence,
    view: parts.view,
    revision: () => s.store.readRevision(),
    upcoming: (options) => parts.schedule.upcoming(options),
    watch: (listener) => parts.relay.watch(listener),
    claims: s.claims,
    store: s.store,
    logger: config.logger,
    storeTimeoutMs: config.storeTimeoutMs,
    // A store that pushes no change (plain keyv) is read again once the cache's time is up.
    ...(s.feed === undefined ? { pollMs: Math.max(1000, config.cacheTtlMs) } : {}),
  });
}
