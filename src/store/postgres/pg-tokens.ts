/**
 * The control API's PostgreSQL tables: `<prefix>_tokens` (one row per token, keyed by its SHA-256) and
 * `<prefix>_claims` (notification claims). A claim is one `INSERT … ON CONFLICT DO UPDATE … WHERE until < now()`:
 * the row lock makes racing instances take turns, and exactly one of them inserts (or takes over an expired claim).
 * Stronger than an advisory lock, which a late instance could take again once the first one released it.
 */
import type { ClaimStore } from '../../core/claims.js';
import { isTokenRecord, type TokenRecord, type TokenTable } from '../../core/tokens.js';
import { type PgPool, quoteIdent } from './pg-client.js';

const records = (rows: Array<Record<string, unknown>>): TokenRecord[] =>
  rows.map((r) => r.record).filter((r): r is TokenRecord => isTokenRecord(r));

/** The token table `table`. */
export function createPgTokenTable(pool: PgPool, table: string, ready: () => Promise<void>): TokenTable {
  const t = quoteIdent(table);
  return {
    async find(hash) {
      await ready();
      const { rows } = await pool.query(`SELECT record FROM ${t} WHERE hash = $1`, [hash]);
      return records(rows).find((r) => r.hash === hash);
    },
    async list() {
      await ready();
      return records((await pool.query(`SELECT record FROM ${t} ORDER BY record->>'createdAt'`)).rows);
    },
    async put(record) {
      await ready();
      await pool.query(`INSERT INTO ${t} (hash, id, record) VALUES ($1, $2, $3::jsonb)`, [
        record.hash,
        record.id,
        JSON.stringify(record),
      ]);
    },
    async remove(id) {
      await ready();
      const { rows } = await pool.query(`DELETE FROM ${t} WHERE id = $1 RETURNING id`, [id]);
      return rows.length > 0;
    },
  };
}

/** Claims in the table `table`; claims that ended over a day ago are swept by later claims. */
export function createPgClaims(pool: PgPool, table: string, ready: () => Promise<void>): ClaimStore {
  const t = quoteIdent(table);
  const sql = `WITH gc AS (DELETE FROM ${t} WHERE until < now() - interval '1 day' AND name <> $1)
    INSERT INTO ${t} (name, until) VALUES ($1, now() + $2 * interval '1 millisecond')
    ON CONFLICT (name) DO UPDATE SET until = EXCLUDED.until WHERE ${t}.until < now() RETURNING name`;
  return {
    async claim(name, ttlMs) {
      await ready();
      const { rows } = await pool.query(sql, [name, Math.max(1, Math.round(ttlMs))]);
      return rows.length > 0;
    },
  };
}
