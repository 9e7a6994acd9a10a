/**
 * The fleet: which instances serve a store, what each has applied, and what it still runs — the records instances keep
 * in the store (the port) and the rules that read them (who is stale, who is behind). Pure.
 */

/** What one instance says about itself, as its store keeps it. */
export interface PresenceRecord {
  /** Unique per service instance: host, pid and a random part. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** This package's version on the instance. */
  readonly version: string;
  /** ISO-8601 instant the instance joined. */
  readonly startedAt: string;
  /** ISO-8601 instant of its last report. */
  readonly lastSeen: string;
  /** The store revision it serves: it has read every change up to this one. */
  readonly applied: number;
  /** Requests it let into the app before maintenance became active for them, still running. */
  readonly inFlight: number;
  /** The same, by scope, for the scopes in maintenance it knows of (only those with requests still running). */
  readonly drain?: Readonly<Record<string, number>>;
  /** Requests it holds (hold and release). */
  readonly held: number;
  /** The presence interval it reports at, in milliseconds. */
  readonly intervalMs: number;
}

/** One instance of {@link Fleet}. */
export interface FleetInstance extends PresenceRecord {
  /** No report for 3 × its presence interval: it is not waited for. */
  readonly stale: boolean;
}

/** The instances of a store, and the revision they are compared with. */
export interface Fleet {
  /** The store's revision when the fleet was read (what "applied" is compared with). */
  readonly revision: number;
  /** The scope the fleet was read for, if any. */
  readonly scope?: string;
  readonly instances: readonly FleetInstance[];
}

/** Reports missed before an instance counts as stale. */
export const STALE_AFTER_INTERVALS = 3;
/** Reports missed before a store forgets an instance (its record expires or is pruned). */
export const FORGET_AFTER_INTERVALS = 20;

/** Defaults of the `presence` option. */
export const PRESENCE_DEFAULTS = Object.freeze({ intervalMs: 5000 });

/** Property under which a store offers its {@link PresenceStore} (Redis, PostgreSQL, the file store). */
export const PRESENCE = Symbol.for('koa-maintenance-mode.presence');

/** Where a store keeps the records, and how it pushes them. */
export interface PresenceStore {
  /** Writes (replaces) the record of `record.id`, kept for `keepMs`, and tells those who listen. */
  report(record: PresenceRecord, keepMs: number): Promise<void>;
  /** Removes the record of `id` at once (a service that closes leaves the fleet). */
  leave(id: string): Promise<void>;
  /**
   * How long a subscription is worth keeping after its last use, in milliseconds: a connection to set up again (Redis)
   * is kept a while; 0 when opening one is free (a watch, a poll). @default 30000
   */
  readonly lingerMs?: number;
  /** Every record the store still keeps (stale ones included). */
  list(): Promise<PresenceRecord[]>;
  /**
   * Calls `onReport` with each record reported from now on (and `{ id, left: true }` when one leaves), and
   * `onConnected` once reports reach this subscription (after a reconnection too, where the store can tell): a listing
   * started after it misses nothing. Returns the function that stops it.
   */
  subscribe(
    onReport: (report: PresenceRecord | { readonly id: string; readonly left: true }) => void,
    onConnected?: () => void,
  ): () => void;
}

/** The presence store of `store`, if it has one. */
export function presenceOf(store: unknown): PresenceStore | undefined {
  return (store as { [PRESENCE]?: PresenceStore } | null)?.[PRESENCE];
}

/** Whether `record` has missed {@link STALE_AFTER_INTERVALS} reports at `now`. */
export function isStale(record: PresenceRecord, now: Date): boolean {
  return now.getTime() - Date.parse(record.lastSeen) > STALE_AFTER_INTERVALS * record.intervalMs;
}

/** The fleet of `records` at `now`, compared with `revision`, newest first. */
export function fleetOf(records: readonly PresenceRecord[], revision: number, now: Date, scope?: string): Fleet {
  const instances = records
    .map((r) => ({ ...r, stale: isStale(r, now) }))
    .sort((a, b) => (a.host === b.host ? a.pid - b.pid : a.host < b.host ? -1 : 1));
  return scope === undefined ? { revision, instances } : { revision, scope, instances };
}

/** What an instance still runs that a wait for `scope` (undefined: the whole site) must see finish. */
export function inFlightFor(instance: PresenceRecord, scope: string | undefined): number {
  return scope === undefined ? instance.inFlight : (instance.drain?.[scope] ?? 0);
}

/**
 * The live instances of `fleet` a wait is still waiting for: behind its revision, or (with `drained`) still running
 * requests let in before maintenance became active. Stale instances are not waited for.
 */
export function behind(fleet: Fleet, drained: boolean): FleetInstance[] {
  return fleet.instances.filter((i) => !i.stale && isBehind(i, fleet.revision, fleet.scope, drained));
}

/** Whether a live `record` has not applied `revision` yet or (with `drained`) still runs requests for `scope`. */
export function isBehind(record: PresenceRecord, revision: number, scope: string | undefined, drained: boolean) {
  return record.applied < revision || (drained && inFlightFor(record, scope) > 0);
}

/** Whether a wait for `revision` still waits for `record` at `now`: live and {@link isBehind}. */
export function waitsFor(
  record: PresenceRecord,
  revision: number,
  scope: string | undefined,
  drained: boolean,
  now: Date,
): boolean {
  return !isStale(record, now) && isBehind(record, revision, scope, drained);
}
