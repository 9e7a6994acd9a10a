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
/**
 * How far ahead of the reader's clock a record's `lastSeen` may be and still count (clocks of a fleet drift apart): a
 * record from further ahead is stale at once, whatever it says.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 30_000;
/** Reports missed before a store forgets an instance (its record expires or is pruned). */
export const FORGET_AFTER_INTERVALS = 20;

/** Defaults of the `presence` option. */
export const PRESENCE_DEFAULTS = Object.freeze({ intervalMs: 5000 });
/** The intervals, in milliseconds, an instance may report at (the bounds of `presence.intervalMs`). */
export const PRESENCE_INTERVAL_BOUNDS = Object.freeze({ min: 100, max: 600_000 });

/** Where a store keeps the records, and how it pushes them (Redis, PostgreSQL, the file store). */
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
   * For a store whose instances keep a record only once they can see a fleet (the file store: once its side directory
   * exists): makes the fleet visible, and resolves once instances that ran before have had time to write their records
   * (at once when it has been visible for that long). A wait does not settle before. Absent where an instance reports
   * from the moment it joins (Redis, PostgreSQL).
   */
  open?(): Promise<void>;
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

/**
 * `value` as a presence record when it is an object with an id; undefined for anything else (a store lists what
 * anyone wrote into it: `null`, an array, a text). The fields are judged by {@link isStale}.
 */
export function presenceRecordOf(value: unknown): PresenceRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' && id !== '' ? (value as PresenceRecord) : undefined;
}

const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

/** Whether `v` is an interval this package reports at (the `presence.intervalMs` option's bounds). */
export const isPresenceInterval = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= PRESENCE_INTERVAL_BOUNDS.min && (v as number) <= PRESENCE_INTERVAL_BOUNDS.max;

function isDrain(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const n of Object.values(v)) if (!isCount(n)) return false;
  return true;
}

/** Whether every field of `record` has the type this package writes (a record that has not is never waited for). */
export function isWellFormed(record: PresenceRecord): boolean {
  const r = record as unknown as Record<string, unknown>;
  return (
    typeof r.host === 'string' &&
    isCount(r.pid) &&
    typeof r.version === 'string' &&
    typeof r.startedAt === 'string' &&
    typeof r.lastSeen === 'string' &&
    isCount(r.applied) &&
    isCount(r.inFlight) &&
    isCount(r.held) &&
    isPresenceInterval(r.intervalMs) &&
    (r.drain === undefined || isDrain(r.drain))
  );
}

/**
 * Whether `record` is stale at `now`: it missed {@link STALE_AFTER_INTERVALS} reports, or it cannot be trusted — a
 * field of the wrong type, a `lastSeen` that is no date or lies more than {@link CLOCK_SKEW_ALLOWANCE_MS} ahead (a
 * forged or broken record would otherwise never go stale, and every wait would time out on it).
 */
export function isStale(record: PresenceRecord, now: Date): boolean {
  if (!isWellFormed(record)) return true;
  const seen = Date.parse(record.lastSeen);
  const t = now.getTime();
  return !(seen <= t + CLOCK_SKEW_ALLOWANCE_MS) || t - seen > STALE_AFTER_INTERVALS * record.intervalMs;
}

/**
 * Whether a reader that has seen `record.lastSeen` unchanged since `sinceMs` (by its own clock) has seen no report for
 * {@link STALE_AFTER_INTERVALS} intervals: stale whatever the writer's clock says (one inside the skew allowance too).
 */
export function isSilent(record: PresenceRecord, sinceMs: number, now: Date): boolean {
  const intervalMs = isPresenceInterval(record.intervalMs) ? record.intervalMs : PRESENCE_DEFAULTS.intervalMs;
  return now.getTime() - sinceMs > STALE_AFTER_INTERVALS * intervalMs;
}

/** How long after its last write a store keeps `record` (a record that is none: as one at the default interval). */
export function forgetAfterMs(record: PresenceRecord | undefined): number {
  const intervalMs = isPresenceInterval(record?.intervalMs) ? record.intervalMs : PRESENCE_DEFAULTS.intervalMs;
  return FORGET_AFTER_INTERVALS * intervalMs;
}

/**
 * Whether `record` is gone for good at `now`: its last report is more than {@link FORGET_AFTER_INTERVALS} intervals
 * old. Such an instance leaves every listing (`fleet`, waits, the status page) whether or not its store removed it yet.
 */
export function isGone(record: PresenceRecord, now: Date): boolean {
  const seen = Date.parse(record.lastSeen);
  return Number.isFinite(seen) && now.getTime() - seen > forgetAfterMs(record);
}

/** The fleet of `records` at `now`, compared with `revision`, newest first; instances gone for good are left out. */
export function fleetOf(records: readonly PresenceRecord[], revision: number, now: Date, scope?: string): Fleet {
  const instances = records
    .filter((r) => !isGone(r, now))
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
