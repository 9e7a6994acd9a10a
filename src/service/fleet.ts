/**
 * An instance's part in its fleet: the requests it runs that a drain waits for, and the presence record it reports
 * (at once when it applies a revision, and every interval). Nothing here is on a request's path but two counter
 * updates; a report that fails is logged once per outage and never affects a request. Waiting for the fleet is
 * `fleet-wait.ts`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { withGetters } from '../core/fast-object.js';
import { FORGET_AFTER_INTERVALS, type PresenceRecord, type PresenceStore } from '../core/presence.js';
import type { MaintenanceLogger } from '../store/state-store.js';

/** The map of counts by scope is swept of scopes at 0 once it holds more than this (and than twice its last size). */
const SWEEP_MIN = 1024;

/** One scope's count of requests in flight, with ready-made handlers that count one out (no closure per request). */
export interface ScopeCount {
  readonly n: number;
  /** One request of the scope finished. */
  readonly settled: () => void;
  /** `settled()`, then rethrows: a ready-made rejection handler. */
  readonly failed: (err: unknown) => never;
}

/** Requests an instance let into the app while maintenance was off for them, by scope, still running. */
export interface InFlight {
  /** A request passed with maintenance off (for `scope`, or the whole site). */
  enter(scope: string | undefined): void;
  /** It finished. */
  leave(scope: string | undefined): void;
  /** `enter(scope)`, returning the scope's count, whose handlers are `leave(scope)` (one map lookup per request). */
  enterScope(scope: string): ScopeCount;
  /** `leave(undefined)` as a ready-made fulfilment handler (no closure per request). */
  readonly settled: () => void;
  /** `leave(undefined)`, then rethrows: a ready-made rejection handler. */
  readonly failed: (err: unknown) => never;
  readonly total: number;
  /** The counts of `scopes` that are above 0. */
  of(scopes: Iterable<string>): Record<string, number>;
  /**
   * Which counts tell `onDrained` when they fall to 0: `'all'` (every scope's and the total), the counts of the named
   * scopes, or none (the default). The fleet link sets it from the states in force whenever they change, so a
   * request of a scope no drain can wait for (maintenance off for it and for the site) costs no call when it ends.
   */
  watch(watched: 'all' | ReadonlySet<string>): void;
}

/** A scope's count as the counters keep it (the same object is handed out, read-only). */
interface Count extends ScopeCount {
  n: number;
  /** Whether `onDrained(scope)` hears of this count falling to 0 (see {@link InFlight.watch}). */
  watched: boolean;
}

/** What the counts are told to watch (see {@link InFlight.watch}). */
interface Watch {
  all: boolean;
  scopes: ReadonlySet<string>;
}

/**
 * Builds the counters of one service. `onDrained(scope)` is told when the count of `scope` (undefined: all requests)
 * falls to 0, so a wait for a drain hears of it at once.
 */
export function createInFlight(onDrained: (scope: string | undefined) => void = () => undefined): InFlight {
  let total = 0;
  const watching: Watch = { all: false, scopes: new Set() };
  const settled = () => {
    total--;
    if (total === 0 && watching.all) onDrained(undefined);
  };
  const { countOf, of, rewatch } = createScopeCounts(settled, onDrained, watching);
  const counters: Omit<InFlight, 'total'> = {
    settled,
    failed(err) {
      settled();
      throw err;
    },
    enter(scope) {
      if (scope === undefined) total++;
      else counters.enterScope(scope);
    },
    enterScope(scope) {
      total++;
      const c = countOf(scope);
      c.n++;
      return c;
    },
    leave(scope) {
      if (scope === undefined) settled();
      else countOf(scope).settled();
    },
    of,
    watch(watched) {
      watching.all = watched === 'all';
      watching.scopes = watched === 'all' ? new Set() : watched;
      rewatch();
    },
  };
  return withGetters(counters, { total: () => total });
}

/**
 * The counts by scope of one service's counters: a scope's count is made once and stays in the map at 0 (deleting
 * and adding it back on every request rehashed the map each time); counts at 0 are swept out when the map has doubled
 * since the last sweep. A count's `settled()` also counts the request out of the total (`settledTotal`).
 */
function createScopeCounts(
  settledTotal: () => void,
  onDrained: (scope: string | undefined) => void,
  watching: Readonly<Watch>,
) {
  const byScope = new Map<string, Count>();
  let sweepAt = SWEEP_MIN;
  const sweep = () => {
    for (const [scope, c] of byScope) if (c.n === 0) byScope.delete(scope);
    sweepAt = Math.max(SWEEP_MIN, 2 * byScope.size);
  };
  const isWatched = (scope: string) => watching.all || watching.scopes.has(scope);
  /** The watch changed: each count's flag follows it. */
  const rewatch = () => {
    for (const [scope, c] of byScope) c.watched = isWatched(scope);
  };
  const countOf = (scope: string): Count => {
    let c = byScope.get(scope);
    if (c === undefined) {
      const made: Count = {
        n: 0,
        watched: isWatched(scope),
        settled: () => {
          if (made.n > 0) made.n--;
          settledTotal();
          if (made.n === 0 && made.watched) onDrained(scope);
        },
        failed: (err) => {
          made.settled();
          throw err;
        },
      };
      c = made;
      byScope.set(scope, c);
      if (byScope.size > sweepAt) sweep();
    }
    return c;
  };
  /** The counts of `scopes` that are above 0. */
  const of = (scopes: Iterable<string>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const scope of scopes) {
      const n = byScope.get(scope)?.n;
      if (n) out[scope] = n;
    }
    return out;
  };
  return { countOf, of, rewatch };
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
  const reporter = createReporter(s, record);
  /** Catches up, then reports what it applied: one store connection at a time, one report per beat. */
  const beat = () => {
    s.facts
      .catchUp()
      .catch(() => undefined) // the store is down: report anyway (it fails too, or says who is alive), retry next beat
      .finally(reporter.reportSoon);
  };
  const timer = setInterval(beat, s.intervalMs);
  timer.unref();
  reporter.report(); // listed at once; the state it read before joining may be older than the store's: catch up now too
  s.facts.catchUp().catch(() => undefined);
  return {
    id,
    reportSoon: reporter.reportSoon,
    async leave() {
      reporter.stop();
      clearInterval(timer);
      await reporter.sending(); // a report landing after the removal would bring the record back
      await s.presence.leave(id);
    },
  };
}

/**
 * The reports of one member, one at a time: two in flight may land out of order (a pool runs them on two
 * connections), and the older record would stand until the next heartbeat. A report asked for meanwhile goes once the
 * one in flight lands. A report that fails is logged once per outage.
 */
function createReporter(s: MemberSettings, record: () => PresenceRecord) {
  let failing = false;
  let queued = false;
  let left = false;
  let sending: Promise<void> | undefined;
  let again = false;
  const report = () => {
    if (left) return;
    if (sending) {
      again = true;
      return;
    }
    sending = s.presence
      .report(record(), FORGET_AFTER_INTERVALS * s.intervalMs)
      .then(
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
      )
      .finally(() => {
        sending = undefined;
        if (!again) return;
        again = false;
        report();
      });
  };
  /** Reports soon (coalesced: one report for the changes of one turn of the event loop). */
  const reportSoon = () => {
    if (queued || left) return;
    queued = true;
    setImmediate(() => {
      queued = false;
      report();
    });
  };
  return {
    report,
    reportSoon,
    /** No report from now on. */
    stop: () => {
      left = true;
    },
    /** The report in flight, if any. */
    sending: () => sending,
  };
}
