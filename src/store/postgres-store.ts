/**
 * `createPostgresStore()`: a keyv over @keyv/postgres (the only file loading it) that fails fast, with the same push,
 * cache and failure policy as Redis: a LISTEN/NOTIFY change feed, an atomic history table and a scope table.
 */
import { ANY_SCOPE, CHANGE_FEED, type ChangeFeed, decodeChange, encodeChange } from '../core/change-feed.js';
import { MaintenanceError } from '../core/errors.js';
import { HISTORY_LOG, type HistoryEntry, type HistoryLog, normalizeHistory } from '../core/history.js';
import { type KeyvLike, STORE_DESCRIPTION } from '../core/keyv-like.js';
import { loadPeer } from '../core/peer.js';
import { redactUrl } from '../core/redact.js';
import { SCOPE_TABLE, type ScopeTable } from '../core/scope.js';
import { normalizeState } from '../core/state.js';
import { invalidOption } from '../core/validate.js';
import { keyvOver } from './keyv.js';
import { createPgPool, listenPg, type PgPool, type PgSettings, quoteIdent } from './pg-client.js';

/** Options for {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** Prefix of the tables (`<prefix>_keyv`, `<prefix>_scopes`, `<prefix>_history`) and of the NOTIFY channel. @default 'maintenance_mode' */
  readonly tablePrefix?: string;
  /** How long connecting may take before a call fails, in milliseconds. @default 300 */
  readonly connectTimeoutMs?: number;
}

/** Default values of {@link PostgresStoreOptions}. */
export const POSTGRES_DEFAULTS = Object.freeze({ tablePrefix: 'maintenance_mode', connectTimeoutMs: 300 });

/** Runs the table setup once per store; concurrent setups by other processes are fine (already exists). */
function ensureTables(pool: PgPool, prefix: string): () => Promise<void> {
  let ready: Promise<void> | undefined;
  const sql = `CREATE TABLE IF NOT EXISTS ${quoteIdent(`${prefix}_keyv`)} (key VARCHAR(255) PRIMARY KEY, value TEXT);
    CREATE TABLE IF NOT EXISTS ${quoteIdent(`${prefix}_scopes`)} (scope text PRIMARY KEY, state jsonb NOT NULL);
    CREATE TABLE IF NOT EXISTS ${quoteIdent(`${prefix}_history`)} (id bigserial PRIMARY KEY, entry jsonb NOT NULL)`;
  return () => {
    ready ??= pool.query(sql).then(
      () => undefined,
      (err: { code?: string }) => {
        ready = undefined; // retried by the next call (the server may be down)
        if (err.code === '23505' || err.code === '42P07') return; // created meanwhile by another process
        throw err;
      },
    );
    return ready;
  };
}

/** The history as a table: one INSERT that also trims to the newest `limit` (no writer ever loses an entry). */
function createPgHistoryLog(pool: PgPool, table: string, ready: () => Promise<void>): HistoryLog {
  const t = quoteIdent(table);
  return {
    async append(entry, limit) {
      await ready();
      await pool.query(
        `WITH ins AS (INSERT INTO ${t} (entry) VALUES ($1::jsonb) RETURNING id) DELETE FROM ${t} WHERE id <= (SELECT id FROM ins) - $2`,
        [JSON.stringify(entry), limit],
      );
    },
    async read(limit) {
      await ready();
      const { rows } = await pool.query(`SELECT entry FROM ${t} ORDER BY id DESC LIMIT $1`, [Math.max(1, limit)]);
      return normalizeHistory(rows.map((r) => r.entry as HistoryEntry)).reverse();
    },
  };
}

/** The scopes as a table, one row per enabled scope (upsert / delete per scope). */
function createPgScopeTable(pool: PgPool, table: string, ready: () => Promise<void>): ScopeTable {
  const t = quoteIdent(table);
  const parse = (scope: string, value: unknown) => {
    try {
      return normalizeState(value);
    } catch (err) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_STATE_CORRUPT',
        `The state of scope ${JSON.stringify(scope)} in the table ${table} is not valid: ${(err as Error).message}`,
      );
    }
  };
  return {
    async get(scope) {
      await ready();
      const { rows } = await pool.query(`SELECT state FROM ${t} WHERE scope = $1`, [scope]);
      return rows.length === 0 ? undefined : parse(scope, rows[0].state);
    },
    async set(scope, state) {
      await ready();
      if (state === undefined) await pool.query(`DELETE FROM ${t} WHERE scope = $1`, [scope]);
      else {
        await pool.query(
          `INSERT INTO ${t} (scope, state) VALUES ($1, $2::jsonb) ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state`,
          [scope, JSON.stringify(state)],
        );
      }
    },
    async list() {
      await ready();
      const { rows } = await pool.query(`SELECT scope, state FROM ${t}`);
      return new Map(rows.map((r) => [r.scope as string, parse(r.scope as string, r.state)] as const));
    },
  };
}

/** LISTEN/NOTIFY change feed: every write NOTIFYs the change; a LISTEN connection hands it to the local caches. */
function createPgChangeFeed(pool: PgPool, settings: PgSettings, channel: string): ChangeFeed {
  const listeners = new Set<(change: { scope?: string; state?: ReturnType<typeof normalizeState> }) => void>();
  const notify = (change: { scope?: string; state?: ReturnType<typeof normalizeState> }) => {
    for (const listener of listeners) listener(change);
  };
  // After a (re)connection, notifications sent meanwhile were missed: read the state and the scopes again.
  const readAgain = () => {
    notify({});
    notify({ scope: ANY_SCOPE });
  };
  let listener: ReturnType<typeof listenPg> | undefined;
  return {
    subscribe(onChange) {
      listeners.add(onChange);
      listener ??= listenPg(
        settings,
        channel,
        (payload) => {
          try {
            notify(decodeChange(payload, normalizeState));
          } catch {
            readAgain();
          }
        },
        readAgain,
      );
      return () => listeners.delete(onChange);
    },
    async publish(change) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, encodeChange(change)]);
    },
    async close() {
      listeners.clear();
      await listener?.close();
      listener = undefined;
    },
  };
}

/**
 * A keyv instance on PostgreSQL configured so an outage throws at once instead of hanging or reading as "off": its
 * own small pool with connect and query timeouts, `throwOnErrors`, a LISTEN/NOTIFY change feed (every instance sees a
 * change within milliseconds), and tables for the scopes and the history (created on first use).
 * @example new MaintenanceService({ store: createPostgresStore('postgres://app@127.0.0.1:5432/app') })
 */
export function createPostgresStore(url: string, options: PostgresStoreOptions = {}): KeyvLike {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    invalidOption(
      'createPostgresStore(url)',
      'takes a postgres:// or postgresql:// URL such as "postgres://app@127.0.0.1:5432/app"',
      url,
    );
  }
  const prefix = options.tablePrefix ?? POSTGRES_DEFAULTS.tablePrefix;
  const connectTimeoutMs = options.connectTimeoutMs ?? POSTGRES_DEFAULTS.connectTimeoutMs;
  if (typeof prefix !== 'string' || !/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) {
    invalidOption('tablePrefix', 'must be a lower-case SQL name such as "maintenance_mode"', prefix);
  }
  if (!Number.isInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    invalidOption('connectTimeoutMs', 'must be a whole number of milliseconds >= 1', connectTimeoutMs);
  }
  const kp = loadPeer(
    () => require('@keyv/postgres') as typeof import('@keyv/postgres'),
    '@keyv/postgres',
    'createPostgresStore()',
  );
  const settings: PgSettings = { url, connectTimeoutMs, queryTimeoutMs: Math.max(1000, connectTimeoutMs) };
  const pool = createPgPool(settings);
  const ready = ensureTables(pool, prefix);
  // @keyv/postgres keeps one process-wide pool and ends it on any disconnect(); this store uses its own pool instead,
  // and makes sure of its tables before every first query (the server may have been down when the store was made).
  class OwnPoolAdapter extends kp.KeyvPostgres {
    override async connect() {
      return async (sql: string, values?: unknown[]) => {
        await ready();
        return (await pool.query(sql, values as unknown[])).rows;
      };
    }
    override async disconnect() {
      await pool.end();
    }
  }
  const adapter = new OwnPoolAdapter({ uri: url, table: `${prefix}_keyv` });
  adapter.on('error', () => undefined); // the table setup failing (server down) surfaces on the calls themselves
  const keyv = keyvOver(adapter, prefix);
  Object.defineProperty(keyv, STORE_DESCRIPTION, { value: `PostgreSQL at ${redactUrl(url)}` });
  Object.defineProperty(keyv, HISTORY_LOG, { value: createPgHistoryLog(pool, `${prefix}_history`, ready) });
  Object.defineProperty(keyv, SCOPE_TABLE, { value: createPgScopeTable(pool, `${prefix}_scopes`, ready) });
  Object.defineProperty(keyv, CHANGE_FEED, { value: createPgChangeFeed(pool, settings, `${prefix}_changes`) });
  return keyv as unknown as KeyvLike;
}
