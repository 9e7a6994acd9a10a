/**
 * Waiting for the fleet: every live instance applied a revision (and drained). The reports pushed by the store settle
 * a wait at once; the list is read again every 250 ms (joins, leaves and staleness are not all pushed) and whenever the
 * push (re)connects. One subscription per service serves all its waits, and stays a while after the last one, so
 * the next wait (a runner's second switch, a pipeline's next step) starts with it connected.
 */
import { MaintenanceError } from '../core/errors.js';
import {
  behind,
  type Fleet,
  fleetOf,
  isBehind,
  isSilent,
  isStale,
  type PresenceRecord,
  type PresenceStore,
} from '../core/presence.js';

type Report = PresenceRecord | { readonly id: string; readonly left: true };

/** How long the shared subscription stays after its last wait, unless the store says otherwise. */
const LINGER_MS = 30_000;

/** The pushed reports of one store, shared by the waits of one service. */
export interface PresenceFeed {
  /** Like {@link PresenceStore.subscribe}; `onConnected` also runs at once when the push is already connected. */
  subscribe(onReport: (report: Report) => void, onConnected: () => void): () => void;
  /** Reports reach the subscription (a listing started now misses nothing). */
  readonly connected: boolean;
  /** Drops the subscription now (the service closes). */
  close(): void;
}

/** One subscription to `presence`, opened by the first wait, closed its `lingerMs` after the last. */
export function createPresenceFeed(presence: PresenceStore): PresenceFeed {
  const waits = new Set<{ onReport: (report: Report) => void; onConnected: () => void }>();
  let connected = false;
  let stop: (() => void) | undefined;
  let linger: NodeJS.Timeout | undefined;
  const shut = () => {
    stop?.();
    stop = undefined;
    connected = false;
  };
  return {
    subscribe(onReport, onConnected) {
      clearTimeout(linger);
      const wait = { onReport, onConnected };
      waits.add(wait);
      if (connected) queueMicrotask(onConnected);
      stop ??= presence.subscribe(
        (report) => {
          for (const w of waits) w.onReport(report);
        },
        () => {
          connected = true;
          for (const w of waits) w.onConnected();
        },
      );
      return () => {
        waits.delete(wait);
        if (waits.size > 0 || !stop) return;
        linger = setTimeout(shut, presence.lingerMs ?? LINGER_MS);
        linger.unref();
      };
    },
    get connected() {
      return connected;
    },
    close() {
      clearTimeout(linger);
      waits.clear();
      shut();
    },
  };
}

/** What a wait compares the fleet with. */
export interface WaitTarget {
  readonly revision: number;
  readonly scope?: string;
  /** Wait for requests in flight too (only when the state waited for blocks requests). */
  readonly drained: boolean;
  readonly timeoutMs: number;
  /** Ends the wait with `ERR_MAINTENANCE_WAIT_ABORTED` when it aborts. */
  readonly signal?: AbortSignal;
}

/** How often a wait reads the whole fleet again (joins, leaves and staleness are not all pushed). */
const RELIST_MS = 250;

/**
 * Resolves once every live instance of `presence` has applied `target.revision` (and, with `drained`, runs nothing
 * let in before maintenance); rejects `ERR_MAINTENANCE_FLEET_TIMEOUT` with `.fleet` after `timeoutMs`, and
 * `ERR_MAINTENANCE_WAIT_ABORTED` when `signal` aborts. Reports pushed through `feed` settle it at once; the list is
 * read now, every 250 ms, and when the push (re)connects.
 */
export function waitForFleet(presence: PresenceStore, feed: PresenceFeed, target: WaitTarget): Promise<Fleet> {
  return new Promise<Fleet>((resolve, reject) => {
    const seen = createSeenFleet(target);
    let done = false;
    // A fleet just made visible: instances that ran before are still writing their records (see PresenceStore.open).
    let opened = presence.open === undefined;
    const check = () => {
      if (!done && opened && seen.settled()) finish(() => resolve(seen.fleet()));
    };
    presence.open?.().then(
      () => {
        opened = true;
        check();
      },
      () => {
        opened = true; // nothing to wait for: the listing decides
        check();
      },
    );
    /** At every tick: one waited for may have gone stale meanwhile (even while the store cannot be listed). */
    const tick = () => {
      seen.judgePending(new Date());
      check();
      void relist();
    };
    const relist = () =>
      presence.list().then(
        (list) => {
          seen.listed(list, new Date());
          check();
        },
        () => undefined, // the store is down for a moment: the next listing or the timeout decides
      );
    const unsubscribe = feed.subscribe(
      (report) => {
        if ('left' in report) seen.left(report.id);
        else seen.reported(report, new Date());
        check();
      },
      () => void relist(), // from now on nothing is missed: a listing settles whatever was reported before
    );
    const poll = setInterval(tick, RELIST_MS);
    const timeout = setTimeout(() => finish(() => reject(timedOut(seen.fleet(), target, opened))), target.timeoutMs);
    const aborted = () => finish(() => reject(abortedError(target)));
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timeout);
      target.signal?.removeEventListener('abort', aborted);
      unsubscribe();
      settle();
    };
    if (target.signal?.aborted) return aborted();
    target.signal?.addEventListener('abort', aborted, { once: true });
    if (!feed.connected) void relist(); // connected, it lists at once (onConnected); else list now, then every 250 ms
  });
}

const abortedError = (target: WaitTarget) =>
  new MaintenanceError(
    'ERR_MAINTENANCE_WAIT_ABORTED',
    `The wait for the fleet to apply revision ${target.revision} was aborted (its signal aborted).`,
  );

/** The fleet as one wait has seen it: the records, and the ids still waited for (kept up to date report by report). */
function createSeenFleet(target: WaitTarget) {
  const records = new Map<string, PresenceRecord>();
  /** The ids still waited for: a report costs O(1), not a fleet's worth. */
  const pending = new Set<string>();
  let listed = false; // reports pushed before the first listing cannot say who else there is
  const sight = createSight();
  const judge = (r: PresenceRecord, now: Date) => {
    const live = !isStale(r, now) && !sight.silent(r, now);
    if (live && isBehind(r, target.revision, target.scope, target.drained)) pending.add(r.id);
    else pending.delete(r.id);
  };
  return {
    settled: () => listed && pending.size === 0,
    fleet: () => sight.mark(fleetOf([...records.values()], target.revision, new Date(), target.scope)),
    judgePending(now: Date) {
      for (const id of pending) judge(records.get(id) as PresenceRecord, now);
    },
    reported(r: PresenceRecord, now: Date) {
      records.set(r.id, r);
      judge(r, now);
    },
    left(id: string) {
      records.delete(id);
      pending.delete(id);
      sight.forget(id);
    },
    listed(list: readonly PresenceRecord[], now: Date) {
      listed = true;
      const pushed = new Map(records);
      records.clear();
      for (const r of list) records.set(r.id, r);
      // A report pushed while the listing ran may be newer than what the listing read.
      for (const [id, r] of pushed)
        if (Date.parse(r.lastSeen) > Date.parse(records.get(id)?.lastSeen ?? '')) records.set(id, r);
      pending.clear();
      for (const r of records.values()) judge(r, now);
    },
  };
}

/**
 * What one wait has seen of each record: since when (by this process's clock) its `lastSeen` stayed the same. A record
 * that does not change for 3 of its intervals is stale to the wait even when its `lastSeen` lies ahead (inside the
 * clock-skew allowance), so no record keeps a wait for longer than that unless it keeps reporting.
 */
function createSight() {
  const seen = new Map<string, { readonly lastSeen: unknown; readonly at: number }>();
  const since = (r: PresenceRecord, now: Date) => {
    const s = seen.get(r.id);
    if (s !== undefined && s.lastSeen === r.lastSeen) return s.at;
    seen.set(r.id, { lastSeen: r.lastSeen, at: now.getTime() });
    return now.getTime();
  };
  return {
    silent: (r: PresenceRecord, now: Date) => isSilent(r, since(r, now), now),
    forget: (id: string) => seen.delete(id),
    /** `fleet` with the instances this wait found silent marked stale. */
    mark(fleet: Fleet): Fleet {
      const now = new Date();
      const instances = fleet.instances.map((i) =>
        i.stale || !isSilent(i, since(i, now), now) ? i : { ...i, stale: true },
      );
      return { ...fleet, instances };
    },
  };
}

/** How many of those behind a timeout's message names (all of them are in its `.fleet`). */
const NAMED_BEHIND = 10;

function timedOut(fleet: Fleet, target: WaitTarget, opened: boolean): MaintenanceError {
  const late = behind(fleet, target.drained);
  const named = late
    .slice(0, NAMED_BEHIND)
    .map((i) => `${i.host} pid ${i.pid} (applied ${i.applied} of ${fleet.revision}, ${i.inFlight} in flight)`);
  const more = late.length > NAMED_BEHIND ? ` and ${late.length - NAMED_BEHIND} more (see .fleet)` : '';
  const who = late.length > 0 ? `: ${named.join(', ')}${more}` : '';
  const joining = opened
    ? ''
    : '; the fleet was opened just now, and instances that ran before may not have joined it yet (wait again)';
  const err = new MaintenanceError(
    'ERR_MAINTENANCE_FLEET_TIMEOUT',
    `The fleet did not settle within ${target.timeoutMs} ms: ${late.length} of ${fleet.instances.filter((i) => !i.stale).length} live instance(s) behind${who}${joining}.`,
  );
  return Object.assign(err, { fleet });
}
