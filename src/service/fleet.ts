/**
 * An instance's part in its fleet: the requests it runs that a drain waits for, the presence record it reports (at
 * once when it applies a revision, and every interval), and the wait for every instance to catch up. Nothing here is
 * on a request's path but two counter updates; a report that fails is logged once per outage and never affects a
 * request.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { MaintenanceError } from '../core/errors.js';
import {
  behind,
  type Fleet,
  FORGET_AFTER_INTERVALS,
  fleetOf,
  type PresenceRecord,
  type PresenceStore,
} from '../core/presence.js';
import type { MaintenanceLogger } from '../store/state-store.js';

/** Requests an instance let into the app while maintenance was off for them, by scope, still running. */
export interface InFlight {
  /** A request passed with maintenance off (for `scope`, or the whole site). */
  enter(scope: string | undefined): void;
  /** It finished. */
  leave(scope: string | undefined): void;
  readonly total: number;
  /** The counts of `scopes` that are above 0. */
  of(scopes: Iterable<string>): Record<string, number>;
}

/**
 * Builds the counters of one service. `onDrained(scope)` is told when the count of `scope` (undefined: all requests)
 * falls to 0, so a wait for a drain hears of it at once.
 */
export function createInFlight(onDrained: (scope: string | undefined) => void = () => undefined): InFlight {
  let total = 0;
  const byScope = new Map<string, number>();
  return {
    enter(scope) {
      total++;
      if (scope !== undefined) byScope.set(scope, (byScope.get(scope) ?? 0) + 1);
    },
    leave(scope) {
      total--;
      if (total === 0) onDrained(undefined);
      if (scope === undefined) return;
      const n = (byScope.get(scope) ?? 1) - 1;
      if (n > 0) byScope.set(scope, n);
      else {
        byScope.delete(scope);
        onDrained(scope);
      }
    },
    get total() {
      return total;
    },
    of(scopes) {
      const out: Record<string, number> = {};
      for (const scope of scopes) {
        const n = byScope.get(scope);
        if (n) out[scope] = n;
      }
      return out;
    },
  };
}

/** What the member reads about its instance when it reports. */
export interface MemberFacts {
  readonly applied: () => number;
  readonly inFlight: InFlight;
  /** The scopes in maintenance this instance holds (the ones a drain may wait for). */
  readonly scopes: () => Iterable<string>;
  readonly held: () => number;
  /**
   * Reads the store's revision and, when it is ahead of the applied one, the state again: at every interval, so an
   * instance whose push was lost (a watch that missed a rename, a message sent while it reconnected) catches up
   * within one interval instead of never.
   */
  readonly catchUp: () => Promise<void>;
}

/** Settings of {@link createFleetMember}. */
export interface MemberSettings {
  readonly presence: PresenceStore;
  readonly intervalMs: number;
  readonly version: string;
  readonly logger: MaintenanceLogger;
  readonly facts: MemberFacts;
}

/** One instance in its fleet, once joined. */
export interface FleetMember {
  readonly id: string;
  /** Reports soon (coalesced: one report for the changes of one turn of the event loop). */
  reportSoon(): void;
  /** Stops reporting and removes the record at once. */
  leave(): Promise<void>;
}

/** Joins the fleet: reports now, then at every interval (catching up with the store first) and after every change. */
export function createFleetMember(s: MemberSettings): FleetMember {
  const host = hostname();
  const id = `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const startedAt = new Date().toISOString();
  let failing = false;
  let queued = false;
  let left = false;

  const record = (): PresenceRecord => {
    const drain = s.facts.inFlight.of(s.facts.scopes());
    return {
      id,
      host,
      pid: process.pid,
      version: s.version,
      startedAt,
      lastSeen: new Date().toISOString(),
      applied: s.facts.applied(),
      inFlight: s.facts.inFlight.total,
      ...(Object.keys(drain).length > 0 ? { drain } : {}),
      held: s.facts.held(),
      intervalMs: s.intervalMs,
    };
  };
  const report = () => {
    if (left) return;
    s.presence.report(record(), FORGET_AFTER_INTERVALS * s.intervalMs).then(
      () => {
        if (failing) (s.logger.info ?? s.logger.warn).call(s.logger, 'koa-maintenance-mode: presence reports again.');
        failing = false;
      },
      (err: Error) => {
        if (!failing) {
          s.logger.warn(`koa-maintenance-mode: cannot report this instance's presence: ${err.message}`);
        }
        failing = true;
      },
    );
  };
  const beat = () => {
    report();
    s.facts.catchUp().catch(() => undefined); // the store is down: the next beat tries again
  };
  const timer = setInterval(beat, s.intervalMs);
  timer.unref();
  report();
  return {
    id,
    reportSoon() {
      if (queued || left) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        report();
      });
    },
    async leave() {
      left = true;
      clearInterval(timer);
      await s.presence.leave(id);
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
}

/** How often a wait reads the whole fleet again (joins, leaves and staleness are not all pushed). */
const RELIST_MS = 250;

/**
 * Resolves once every live instance of `presence` has applied `target.revision` (and, with `drained`, runs nothing
 * let in before maintenance); rejects `ERR_MAINTENANCE_FLEET_TIMEOUT` with `.fleet` after `timeoutMs`. Reports pushed
 * by the store settle it at once; the list is read again every 250 ms.
 */
export function waitForFleet(presence: PresenceStore, target: WaitTarget): Promise<Fleet> {
  return new Promise<Fleet>((resolve, reject) => {
    const records = new Map<string, PresenceRecord>();
    let done = false;
    let listed = false; // reports pushed before the first listing cannot say who else there is
    let last: Fleet = fleetOf([], target.revision, new Date(), target.scope);
    const check = () => {
      last = fleetOf([...records.values()], target.revision, new Date(), target.scope);
      if (!done && listed && behind(last, target.drained).length === 0) finish(() => resolve(last));
    };
    const relist = () =>
      presence.list().then(
        (list) => {
          listed = true;
          const pushed = new Map(records);
          records.clear();
          for (const r of list) records.set(r.id, r);
          // A report pushed while the listing ran may be newer than what the listing read.
          for (const [id, r] of pushed)
            if (Date.parse(r.lastSeen) > Date.parse(records.get(id)?.lastSeen ?? '')) records.set(id, r);
          check();
        },
        () => undefined, // the store is down for a moment: the next listing or the timeout decides
      );
    const unsubscribe = presence.subscribe((report) => {
      if ('left' in report) records.delete(report.id);
      else records.set(report.id, report);
      check();
    });
    const poll = setInterval(relist, RELIST_MS);
    const timeout = setTimeout(() => finish(() => reject(timedOut(last, target))), target.timeoutMs);
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timeout);
      unsubscribe();
      settle();
    };
    void relist();
  });
}

function timedOut(fleet: Fleet, target: WaitTarget): MaintenanceError {
  const late = behind(fleet, target.drained);
  const who = late
    .map((i) => `${i.host} pid ${i.pid} (applied ${i.applied} of ${fleet.revision}, ${i.inFlight} in flight)`)
    .join(', ');
  const err = new MaintenanceError(
    'ERR_MAINTENANCE_FLEET_TIMEOUT',
    `The fleet did not settle within ${target.timeoutMs} ms: ${late.length} of ${fleet.instances.filter((i) => !i.stale).length} live instance(s) behind: ${who}.`,
  );
  return Object.assign(err, { fleet });
}
