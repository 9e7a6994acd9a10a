/**
 * The only file that loads `pg`: a bounded connection pool for one store, and a LISTEN connection that reconnects by
 * itself. PostgreSQL failures surface as thrown errors (never hangs: connect and query timeouts), so the service's one
 * failure policy applies.
 */
import { loadPeer } from '../../core/peer.js';

type Pg = typeof import('pg');
const pg = (feature: string): Pg => loadPeer(() => require('pg') as Pg, 'pg', feature);

/** The part of a pg Pool this library uses. */
export interface PgPool {
  query(sql: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  /** Drops every connection at once, without waiting for the server (a stalled server never answers a goodbye). */
  destroy(): void;
}

/** Settings of the pool and the listener. */
export interface PgSettings {
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** Client-side bound of one query: a stalled server frees the connection after this. */
  readonly queryTimeoutMs: number;
}

/** A small pool for one store (never a process-wide shared one: closing one store must not close another's). */
export function createPgPool(s: PgSettings): PgPool {
  const { Pool } = pg('createPostgresStore()');
  const pool = new Pool({
    connectionString: s.url,
    max: 4,
    connectionTimeoutMillis: s.connectTimeoutMs,
    query_timeout: s.queryTimeoutMs,
    // The server gives up too (a row lock held elsewhere): a statement never runs on long after the client left.
    statement_timeout: s.queryTimeoutMs,
    lock_timeout: s.queryTimeoutMs,
    idleTimeoutMillis: 10_000,
    application_name: 'koa-maintenance-mode',
  });
  pool.on('error', () => undefined); // an idle connection lost: the next query reconnects
  return Object.assign(pool, {
    destroy() {
      // pg keeps its clients in `_clients`; each one's socket is ended without waiting for the server.
      for (const client of (pool as unknown as { _clients?: PgClientLike[] })._clients ?? []) destroySocket(client);
      pool.end().catch(() => undefined);
    },
  }) as unknown as PgPool;
}

interface PgClientLike {
  connection?: { stream?: { destroy(): void } };
}

function destroySocket(client: PgClientLike | undefined): void {
  try {
    client?.connection?.stream?.destroy();
  } catch {
    // already closed
  }
}

/** A LISTEN connection: `onMessage` gets each payload; `onConnected` runs after every (re)connection. */
export interface PgListener {
  close(): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

/** Listens on `channel`, reconnecting with backoff (50 ms doubling to 2 s) until closed. */
export function listenPg(
  s: PgSettings,
  channel: string,
  onMessage: (payload: string) => void,
  onConnected: () => void,
): PgListener {
  const { Client } = pg('createPostgresStore()');
  let closed = false;
  let attempt = 0;
  let client: InstanceType<Pg['Client']> | undefined;
  let retry: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(
      () => {
        retry = undefined;
        void connect();
      },
      Math.min(50 * 2 ** attempt++, 2000),
    );
    retry.unref();
  };
  const connect = async () => {
    const c = new Client({
      connectionString: s.url,
      connectionTimeoutMillis: s.connectTimeoutMs,
      application_name: 'koa-maintenance-mode',
    });
    client = c;
    c.on('error', () => undefined);
    c.on('end', () => {
      if (client === c) schedule();
    });
    c.on('notification', (n: { channel: string; payload?: string }) => {
      if (n.channel === channel && n.payload !== undefined) onMessage(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${quoteIdent(channel)}`);
      attempt = 0;
      if (!closed) onConnected();
    } catch {
      await c.end().catch(() => undefined);
      if (client === c) schedule();
    }
  };
  void connect();
  const stop = () => {
    closed = true;
    if (retry) clearTimeout(retry);
    const c = client;
    client = undefined;
    return c;
  };
  return {
    async close() {
      await stop()
        ?.end()
        .catch(() => undefined);
    },
    destroy() {
      destroySocket(stop() as unknown as PgClientLike | undefined);
    },
  };
}

/** A PostgreSQL identifier, quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
