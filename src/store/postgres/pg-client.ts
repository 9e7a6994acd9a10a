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

/** What a {@link ChannelListener} listens to, and whom it tells. */
interface ListenTarget {
  readonly settings: PgSettings;
  readonly channel: string;
  readonly onMessage: (payload: string) => void;
  readonly onConnected: () => void;
}

/** One LISTEN connection at a time, made again with backoff (50 ms doubling to 2 s) until closed. */
class ChannelListener implements PgListener {
  private readonly Client: Pg['Client'];
  private closed = false;
  private attempt = 0;
  private client: InstanceType<Pg['Client']> | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly t: ListenTarget) {
    this.Client = pg('createPostgresStore()').Client;
    void this.connect();
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(
      () => {
        this.retry = undefined;
        void this.connect();
      },
      Math.min(50 * 2 ** this.attempt++, 2000),
    );
    this.retry.unref();
  }

  private async connect(): Promise<void> {
    const c = new this.Client({
      connectionString: this.t.settings.url,
      connectionTimeoutMillis: this.t.settings.connectTimeoutMs,
      application_name: 'koa-maintenance-mode',
    });
    this.client = c;
    c.on('error', () => undefined);
    c.on('end', () => {
      if (this.client === c) this.schedule();
    });
    c.on('notification', (n: { channel: string; payload?: string }) => {
      if (n.channel === this.t.channel && n.payload !== undefined) this.t.onMessage(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${quoteIdent(this.t.channel)}`);
      this.attempt = 0;
      if (!this.closed) this.t.onConnected();
    } catch {
      await c.end().catch(() => undefined);
      if (this.client === c) this.schedule();
    }
  }

  private stop(): InstanceType<Pg['Client']> | undefined {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    return c;
  }

  async close(): Promise<void> {
    await this.stop()
      ?.end()
      .catch(() => undefined);
  }

  destroy(): void {
    destroySocket(this.stop() as unknown as PgClientLike | undefined);
  }
}

/** Listens on `channel`, reconnecting with backoff (50 ms doubling to 2 s) until closed. */
export function listenPg(
  s: PgSettings,
  channel: string,
  onMessage: (payload: string) => void,
  onConnected: () => void,
): PgListener {
  return new ChannelListener({ settings: s, channel, onMessage, onConnected });
}

/** A PostgreSQL identifier, quoted. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
