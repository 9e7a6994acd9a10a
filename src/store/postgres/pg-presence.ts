/**
 * Presence on PostgreSQL: one row per instance in `<prefix>_presence` (`record jsonb`, `last_seen`), each report one
 * statement (upsert, and prune the forgotten), listed by one SELECT. Waiters read what changed every 20 ms while they
 * wait rather than LISTEN: a NOTIFY wakes every listening backend of the database (each instance listens for state
 * changes), so a NOTIFY per report would cost instances² wakeups per switch — 40,000 at 200 instances.
 */
import { type PresenceRecord, type PresenceStore, presenceRecordOf } from '../../core/presence.js';
import type { PgPool } from './pg-client.js';
import { quoteIdent } from './pg-client.js';

/** How often a subscription reads the table. */
const POLL_MS = 20;
/** How far before the newest report read a poll reads again (reports that committed late). */
const OVERLAP_MS = 100;

type Report = PresenceRecord | { id: string; left: true };

/** The {@link PresenceStore} of a PostgreSQL store (tables made by `ready`). */
export function createPgPresence(pool: PgPool, table: string, ready: () => Promise<void>): PresenceStore {
  const t = quoteIdent(table);
  let keepMs = 0;
  const listeners = new Set<(report: Report) => void>();
  let poller: NodeJS.Timeout | undefined;

  const list = async (): Promise<PresenceRecord[]> => {
    await ready();
    const { rows } =
      keepMs > 0
        ? await pool.query(
            `SELECT record FROM ${t} WHERE last_seen > now() - make_interval(secs => $1::double precision / 1000)`,
            [keepMs],
          )
        : await pool.query(`SELECT record FROM ${t}`);
    return rows.map((r) => presenceRecordOf(r.record)).filter((r): r is PresenceRecord => r !== undefined);
  };

  return {
    lingerMs: 0, // nothing to connect: a subscription is free to open again
    async report(record, keep) {
      keepMs = keep;
      await ready();
      await pool.query(
        `WITH u AS (INSERT INTO ${t} (id, record, last_seen) VALUES ($1, $2::jsonb, now())
           ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, last_seen = EXCLUDED.last_seen)
         DELETE FROM ${t} WHERE id <> $1 AND last_seen < now() - make_interval(secs => $3::double precision / 1000)`,
        [record.id, JSON.stringify(record), keep],
      );
    },
    async leave(id) {
      await ready();
      await pool.query(`DELETE FROM ${t} WHERE id = $1`, [id]);
    },
    list,
    subscribe(onReport, onConnected) {
      listeners.add(onReport);
      poller ??= startPolling({ pool, t, ready, listeners });
      if (onConnected) queueMicrotask(onConnected); // every later report is in a later read
      return () => {
        listeners.delete(onReport);
        if (listeners.size > 0 || !poller) return;
        clearInterval(poller);
        poller = undefined;
      };
    },
  };
}

/** What a poll reads and whom it tells. */
interface Polling {
  readonly pool: PgPool;
  /** The presence table, quoted. */
  readonly t: string;
  readonly ready: () => Promise<void>;
  readonly listeners: ReadonlySet<(report: Report) => void>;
}

/**
 * Reads what changed at every tick and tells the listeners: rows whose `last_seen` is at most {@link OVERLAP_MS}
 * before the newest one read (a report's time is its transaction's start; one that commits later than a newer one
 * is still read). Leaves are not told: a waiter's own listing (every 250 ms) drops those gone.
 */
function startPolling({ pool, t, ready, listeners }: Polling): NodeJS.Timeout {
  const told = new Map<string, string>(); // id → lastSeen told
  let since: number | undefined; // the newest last_seen read, in seconds since the epoch
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await ready();
      const { rows } = await pool.query(
        `SELECT record, extract(epoch FROM last_seen)::float8 AS at FROM ${t}
             WHERE $1::float8 IS NULL OR last_seen >= to_timestamp($1::float8 - $2::float8)`,
        [since ?? null, OVERLAP_MS / 1000],
      );
      for (const row of rows as Array<{ record: unknown; at: number }>) {
        since = Math.max(since ?? row.at, row.at);
        const record = presenceRecordOf(row.record); // a row anyone wrote: skipped unless it is a record
        if (!record || told.get(record.id) === record.lastSeen) continue;
        told.set(record.id, record.lastSeen);
        for (const l of listeners) l(record);
      }
    } catch {
      // the server is down for a moment: the next tick, the waiter's listing or its timeout decides
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(tick, POLL_MS);
  timer.unref();
  void tick();
  return timer;
}
