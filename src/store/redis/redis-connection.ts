/**
 * Ending a node-redis client, also while it connects. node-redis 5 cannot destroy a client whose socket is being
 * opened: `destroy()` misses the socket still on its way, which then connects and stays open, and keeps the process
 * alive (issue #30: `on --wait` on Redis that never exits). So a drop waits until that socket exists (or failed to),
 * then destroys; and after `close()` nothing connects the client again.
 */
import { MaintenanceError } from '../../core/errors.js';

/** The part of a node-redis client this file drives. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  destroy(): void;
  unref(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The connection of one node-redis client: a drop that no connect in flight can undo, and a close for good. */
export interface RedisConnection {
  /** `close()` ran: the client never connects again. */
  readonly closed: boolean;
  /** Call before anything connects the client (its own `connect()`, or a library's that does it lazily). */
  opening(): void;
  /** Drops the connection: now, or once the socket being opened exists. The client may connect again later. */
  drop(): Promise<void>;
  /** Drops the connection for good; nothing it holds keeps the process alive meanwhile. */
  close(): Promise<void>;
  /** The error for a call made after `close()`. */
  closedError(): MaintenanceError;
}

/** How long a drop waits for a socket on its way (node-redis bounds it by its connect timeout) before it gives up. */
const OPENING_LIMIT_MS = 5000;

/** Watches `client` (described as `what`, e.g. "Redis at redis://…") so that it can always be dropped. */
export function watchRedisConnection(client: NodeRedisClient, what: string): RedisConnection {
  let opening = false;
  let closed = false;
  const settled = new Set<() => void>();
  const done = () => {
    opening = false;
    for (const resolve of settled) resolve();
    settled.clear();
  };
  // 'connect': the new socket is the client's (destroy reaches it); 'error': it failed, and a retry waits first.
  client.on('connect', done);
  client.on('error', done);
  client.on('reconnecting', () => {
    opening = client.isOpen; // after destroy() node-redis says so too, but opens nothing
  });
  const whenSettled = () =>
    new Promise<void>((resolve) => {
      if (!opening) return resolve();
      const limit = setTimeout(resolve, OPENING_LIMIT_MS); // kept referenced: the close it bounds must resolve
      settled.add(() => {
        clearTimeout(limit);
        resolve();
      });
    });
  const destroy = () => {
    try {
      if (client.isOpen) client.destroy();
    } catch {
      // already closed
    }
  };
  return {
    get closed() {
      return closed;
    },
    opening() {
      if (!client.isOpen) opening = true;
    },
    async drop() {
      await whenSettled();
      destroy();
    },
    async close() {
      closed = true;
      client.unref();
      await whenSettled();
      destroy();
    },
    closedError() {
      return new MaintenanceError(
        'ERR_MAINTENANCE_MISUSE',
        `${what} is closed (service.close() ran), and a closed store does not connect again; create a new store with createRedisStore() instead.`,
      );
    },
  };
}
