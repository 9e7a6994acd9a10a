/**
 * `createPostgresStore()`: a store on PostgreSQL over @keyv/postgres (the only file loading it) that fails fast, with the same push,
 * cache and failure policy as Redis: a LISTEN/NOTIFY change feed, an atomic history table and a scope table, and every
 * switch landed by one statement (state, history entry and NOTIFY commit together or not at all).
 */
import {
  ANY_SCOPE,
  type ChangeFeed,
  decodeChange,
  encodeChange,
  REVISION_PLACEHOLDER,
  type StateChange,
} from '../../core/change-feed.js';
import { type Committer, revisionConflict } from '../../core/commit.js';
import { MaintenanceError } from '../../core/errors.js';
import { type HistoryEntry, type HistoryLog, normalizeHistory } from '../../core/history.js';
import { loadPeer } from '../../core/peer.js';
import { redactUrl, shownUrl } from '../../core/redact.js';
import type { ScopeTable } from '../../core/scope.js';
import { type MaintenanceState, normalizeState } from '../../core/state.js';
import { invalidOption } from '../../core/validate.js';
import { urlAndOptions, type WithUrl } from '../factory-args.js';
import { keyvOver } from '../keyv/keyv.js';
import type { KeyvBackedStore } from '../maintenance-store.js';
import { STATE_KEY } from '../store-keys.js';
import { createPgPool, listenPg, type PgPool, type PgSettings, quoteIdent } from './pg-client.js';
import { createPgPresence } from './pg-presence.js';
import { createPgClaims, createPgTokenTable } from './pg-tokens.js';

/** Options for {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** Prefix of the tables (`<prefix>_keyv`, `_scopes`, `_history`, `_meta`, `_presence`, `_tokens`, `_claims`) and of the NOTIFY channel. @default 'maintenance_mode' */
  readonly tablePrefix?: string;
  /** How long connecting may take before a call fails, in milliseconds. @default 300 */
  readonly connectTimeoutMs?: number;
}

/** Default values of {@link PostgresStoreOptions}. */
export const POSTGRES_DEFAULTS = Object.freeze({ tablePrefix: 'maintenance_mode', connectTimeoutMs: 300 });

/**
 * Runs the table setup once per store, in one round trip; when another process created a table meanwhile (a unique
 * violation of the catalogue), again statement by statement, so that table stops nothing after it. A setup that fails
 * otherwise is retried by the next call (the server may be down).
 */
function ensureTables(pool: PgPool, prefix: string): () => Promise<void> {
  let ready: Promise<void> | undefined;
  const t = (name: string) => quoteIdent(`${prefix}_${name}`);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${t('keyv')} (key VARCHAR(255) PRIMARY KEY, value TEXT)`,
    `CREATE TABLE IF NOT EXISTS ${t('scopes')} (scope text PRIMARY KEY, state jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('history')} (id bigserial PRIMARY KEY, entry jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('meta')} (id int PRIMARY KEY, revision bigint NOT NULL)`,
    `INSERT INTO ${t('meta')} (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`,
    `CREATE TABLE IF NOT EXISTS ${t('presence')} (id text PRIMARY KEY, record jsonb NOT NULL, last_seen timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('tokens')} (hash text PRIMARY KEY, id text UNIQUE NOT NULL, record jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('claims')} (name text PRIMARY KEY, until timestamptz NOT NULL)`,
  ];
  const raced = (err: { code?: string }) => err.code === '23505' || err.code === '42P07'; // created meanwhile
  const run = async () => {
    try {
      await pool.query(statements.join(';\n')); // one round trip (one implicit transaction) when nobody races
    } catch (err) {
      if (!raced(err as { code?: string })) throw err;
      for (const sql of statements) {
        await pool.query(sql).catch((e: { code?: string }) => {
          if (!raced(e)) throw e;
        });
      }
    }
  };
  return () => {
    ready ??= run().catch((err) => {
      ready = undefined;
      throw err;
    });
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

/** LISTEN/NOTIFY change feed: every switch NOTIFYs which state changed; a LISTEN connection tells the local caches. */
function createPgChangeFeed(pool: PgPool, settings: PgSettings, channel: string): ChangeFeed & { destroy(): void } {
  const listeners = new Set<(change: StateChange) => void>();
  const notify = (change: StateChange) => {
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
          const change = decodeChange(payload);
          if (change) notify(change);
          else readAgain();
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
    destroy() {
      listeners.clear();
      listener?.destroy();
      listener = undefined;
    },
  };
}

/** The tables and the channel of one store. */
interface PgNames {
  readonly keyv: string;
  readonly meta: string;
  readonly presence: string;
  readonly scopes: string;
  readonly history: string;
  readonly channel: string;
}

/**
 * One change in one statement: the state row (the keyv row of the global state, or the scope's row upserted or
 * deleted), the history entry (inserted, older ones trimmed) and `pg_notify` run as data-modifying parts of a single
 * statement, so they commit together or not at all, and the notification goes out only when they commit. With
 * `ifRevision`, the counter row is updated only while it still holds that revision (re-checked after a concurrent
 * writer's lock is released), and every other part only when it was: a stale change lands nothing.
 */
function createPgCommitter(
  pool: PgPool,
  names: PgNames,
  ready: () => Promise<void>,
  serialize: (state: MaintenanceState) => Promise<string>,
): Committer {
  const [k, sc, h, m] = [names.keyv, names.scopes, names.history, names.meta].map(quoteIdent);
  const stamp = (param: string) => `replace(${param}, '"revision":-1', '"revision":' || (SELECT revision FROM r))`;
  const done = 'EXISTS (SELECT 1 FROM r)';
  // $1 entry, $2 history limit, $3 channel, $4 message, $5 ifRevision (null: none); then the state's key or scope ($6)
  // and value ($7). Each of them carries "revision":-1, replaced by the revision the statement takes from the counter.
  const head = `WITH r AS (UPDATE ${m} SET revision = revision + 1 WHERE id = 1 AND ($5::bigint IS NULL OR revision = $5::bigint) RETURNING revision)`;
  // A quiet write ($1 is null: a lease renewed) inserts no entry; the trim then finds no new id and deletes nothing.
  const tail = `h AS (INSERT INTO ${h} (entry) SELECT (${stamp('$1')})::jsonb WHERE $1::text IS NOT NULL AND ${done} RETURNING id),
    trim AS (DELETE FROM ${h} WHERE id <= (SELECT id FROM h) - $2)
    SELECT CASE WHEN ${done} THEN pg_notify($3, ${stamp('$4')}) END, (SELECT revision FROM r) AS revision,
      (SELECT revision FROM ${m} WHERE id = 1) AS found`;
  const sql = {
    global: `${head}, s AS (INSERT INTO ${k} (key, value) SELECT $6, ${stamp('$7')} WHERE ${done} ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value), ${tail}`,
    scopeOn: `${head}, s AS (INSERT INTO ${sc} (scope, state) SELECT $6, (${stamp('$7')})::jsonb WHERE ${done} ON CONFLICT (scope) DO UPDATE SET state = EXCLUDED.state), ${tail}`,
    scopeOff: `${head}, s AS (DELETE FROM ${sc} WHERE scope = $6 AND ${done}), ${tail}`,
  };
  return {
    async commit({ scope, state, entry, ifRevision }, { historyLimit }) {
      await ready();
      const history = entry === undefined ? null : JSON.stringify({ ...entry, revision: REVISION_PLACEHOLDER });
      const message = encodeChange({ scope, revision: REVISION_PLACEHOLDER });
      const params: unknown[] = [history, historyLimit, names.channel, message, ifRevision ?? null];
      const stamped = { ...state, revision: REVISION_PLACEHOLDER };
      const { rows } =
        scope === undefined
          ? await pool.query(sql.global, [...params, STATE_KEY, await serialize(stamped)])
          : state.enabled
            ? await pool.query(sql.scopeOn, [...params, scope, JSON.stringify(stamped)])
            : await pool.query(sql.scopeOff, [...params, scope]);
      if (rows[0].revision === null) throw revisionConflict(ifRevision as number, Number(rows[0].found));
      return Number(rows[0].revision);
    },
    async revision() {
      await ready();
      const { rows } = await pool.query(`SELECT revision FROM ${m} WHERE id = 1`);
      return Number(rows[0]?.revision ?? 0);
    },
  };
}

/**
 * A `MaintenanceStore` on PostgreSQL, configured so an outage throws at once instead of hanging or reading as "off":
 * its own small pool with connect and query timeouts, `throwOnErrors`, a LISTEN/NOTIFY change feed (every instance
 * sees a change within milliseconds), every switch one statement, and tables for the scopes, history, fleet, tokens
 * and claims (created on first use). The result is also a keyv-like view of its keyv table (`get`, `set`, `delete`,
 * `disconnect`).
 * @example new MaintenanceService({ store: createPostgresStore('postgres://app@127.0.0.1:5432/app') })
 */
export function createPostgresStore(options: WithUrl<PostgresStoreOptions>): KeyvBackedStore;
/**
 * The same store from a URL and the other options apart.
 * @example createPostgresStore('postgres://app@127.0.0.1:5432/app', { tablePrefix: 'shop_maintenance' })
 */
export function createPostgresStore(url: string, options?: PostgresStoreOptions): KeyvBackedStore;
export function createPostgresStore(
  first: string | WithUrl<PostgresStoreOptions>,
  second?: PostgresStoreOptions,
): KeyvBackedStore {
  const { url, prefix, connectTimeoutMs } = postgresSettings(first, second);
  const settings: PgSettings = { url, connectTimeoutMs, queryTimeoutMs: Math.max(1000, connectTimeoutMs) };
  const pool = createPgPool(settings);
  const ready = ensureTables(pool, prefix);
  const keyv = keyvOver(ownPoolAdapter(url, pool, ready, prefix), prefix);
  const names: PgNames = {
    keyv: `${prefix}_keyv`,
    meta: `${prefix}_meta`,
    presence: `${prefix}_presence`,
    scopes: `${prefix}_scopes`,
    history: `${prefix}_history`,
    channel: `${prefix}_changes`,
  };
  const description = `PostgreSQL at ${redactUrl(url)}`;
  const changeFeed = createPgChangeFeed(pool, settings, names.channel);
  // The global state is written as keyv writes it (its serialisation), so keyv reads it back unchanged.
  const serialize = (state: MaintenanceState) => keyv.serializeData({ value: state });
  const close = async () => {
    await changeFeed.close();
    await keyv.disconnect?.(); // the adapter ends the pool
  };
  return {
    description,
    stateLocation: `The row ${STATE_KEY} of the table ${names.keyv} (${description})`,
    readState: () => keyv.get(STATE_KEY),
    ...createPgCommitter(pool, names, ready, serialize),
    scopes: createPgScopeTable(pool, names.scopes, ready),
    history: createPgHistoryLog(pool, names.history, ready),
    claims: createPgClaims(pool, `${prefix}_claims`, ready),
    tokens: createPgTokenTable(pool, `${prefix}_tokens`, ready),
    changeFeed,
    presence: createPgPresence(pool, names.presence, ready),
    close,
    destroy() {
      changeFeed.destroy();
      pool.destroy();
    },
    get: (key) => keyv.get(key),
    set: (key, value, ttl) => keyv.set(key, value, ttl),
    delete: (key) => keyv.delete(key),
    disconnect: close,
  };
}

/** The URL, table prefix and connect timeout of a call to {@link createPostgresStore}, checked. */
function postgresSettings(first: unknown, second: PostgresStoreOptions | undefined) {
  const { url, options } = urlAndOptions('createPostgresStore', first, second);
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    invalidOption(
      'createPostgresStore(url)',
      'takes a postgres:// or postgresql:// URL such as "postgres://app@127.0.0.1:5432/app"',
      shownUrl(url),
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
  return { url, prefix, connectTimeoutMs };
}

/**
 * The @keyv/postgres adapter of one store over its own `pool`. @keyv/postgres keeps one process-wide pool and ends it
 * on any disconnect(); this store uses its own pool instead, and makes sure of its tables before every first query
 * (the server may have been down when the store was made).
 */
function ownPoolAdapter(url: string, pool: PgPool, ready: () => Promise<void>, prefix: string): unknown {
  const kp = loadPeer(
    () => require('@keyv/postgres') as typeof import('@keyv/postgres'),
    '@keyv/postgres',
    'createPostgresStore()',
  );
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
  return adapter;
}
