/**
 * Presence on PostgreSQL: one row per instance in `<prefix>_presence` (`record jsonb`, `last_seen`), each report one
 * statement (upsert, prune the forgotten, NOTIFY the record), listed by one SELECT; waiters LISTEN on
 * `<prefix>_presence` (their own connection, opened while they wait).
 */
import type { PresenceRecord, PresenceStore } from '../core/presence.js';
import { listenPg, type PgPool, type PgSettings, quoteIdent } from './pg-client.js';

/** Parses a record or a leave sent on the channel; undefined for anything else. */
function parse(text: string): PresenceRecord | { id: string; left: true } | undefined {
  try {
    const value = JSON.parse(text);
    return typeof value?.id === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The {@link PresenceStore} of a PostgreSQL store (tables made by `ready`). */
export function createPgPresence(
  pool: PgPool,
  settings: PgSettings,
  table: string,
  channel: string,
  ready: () => Promise<void>,
): PresenceStore {
  const t = quoteIdent(table);
  let keepMs = 0;
  const listeners = new Set<(report: PresenceRecord | { id: string; left: true }) => void>();
  let listener: ReturnType<typeof listenPg> | undefined;
  return {
    async report(record, keep) {
      keepMs = keep;
      await ready();
      await pool.query(
        `WITH u AS (INSERT INTO ${t} (id, record, last_seen) VALUES ($1, $2::jsonb, now())
           ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, last_seen = EXCLUDED.last_seen),
         d AS (DELETE FROM ${t} WHERE id <> $1 AND last_seen < now() - make_interval(secs => $3::double precision / 1000))
         SELECT pg_notify($4, $2::text)`,
        [record.id, JSON.stringify(record), keep, channel],
      );
    },
    async leave(id) {
      await ready();
      await pool.query(`WITH d AS (DELETE FROM ${t} WHERE id = $1) SELECT pg_notify($2, $3)`, [
        id,
        channel,
        JSON.stringify({ id, left: true }),
      ]);
    },
    async list() {
      await ready();
      const { rows } =
        keepMs > 0
          ? await pool.query(
              `SELECT record FROM ${t} WHERE last_seen > now() - make_interval(secs => $1::double precision / 1000)`,
              [keepMs],
            )
          : await pool.query(`SELECT record FROM ${t}`);
      return rows.map((r) => r.record as PresenceRecord);
    },
    subscribe(onReport) {
      listeners.add(onReport);
      listener ??= listenPg(
        settings,
        channel,
        (payload) => {
          const report = parse(payload);
          if (report) for (const l of listeners) l(report);
        },
        () => undefined,
      );
      return () => {
        listeners.delete(onReport);
        if (listeners.size === 0 && listener) {
          void listener.close();
          listener = undefined;
        }
      };
    },
  };
}
