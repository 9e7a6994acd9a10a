/**
 * Presence on Redis: one key per instance with a TTL (`<namespace>::presence:<id>`), a sorted set of the ids by last
 * report (`<namespace>::presence`, pruned as it goes) and a channel that carries each report to waiters. Each report is
 * one script (SET with PX, ZADD, ZREMRANGEBYSCORE, PUBLISH); a listing is one script (the live ids, then their keys).
 */
import { type PresenceRecord, type PresenceStore, presenceRecordOf } from '../../core/presence.js';
import { type NodeRedisClient, type RedisConnection, watchRedisConnection } from './redis-connection.js';

/** The keys and the channel of one store's presence. */
export interface RedisPresenceKeys {
  readonly index: string;
  readonly prefix: string;
  readonly channel: string;
}

const REPORT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[1])
return 1`;
const LEAVE = `
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;
const LIST = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[2] .. id)
  if v then out[#out + 1] = v end
end
return out`;

interface Client {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  duplicate(): SubscriberClient;
}
type SubscriberClient = NodeRedisClient & {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
};

/** The subscriber connection shared by the subscriptions of one store. */
interface Session {
  /** SUBSCRIBE answered: reports reach the listeners. */
  readonly subscribed: boolean;
  /** Ends the connection, also one still connecting (it must not stay open: #30). */
  close(): void;
}

/** Opens the subscriber: a duplicate of the store's client, subscribed to `channel`. */
function openSession(
  connected: () => Promise<unknown>,
  channel: string,
  onMessage: (message: string) => void,
  onSubscribed: () => void,
): Session {
  let closed = false;
  let subscribed = false;
  let connection: RedisConnection | undefined;
  (async () => {
    const main = (await connected()) as Client;
    if (closed) return; // closed while the store connected: open nothing
    const sub = main.duplicate();
    sub.on('error', () => undefined);
    connection = watchRedisConnection(sub, 'The presence subscriber');
    connection.opening();
    await sub.connect();
    if (closed) return; // close() destroys it now that it is connected
    await sub.subscribe(channel, onMessage);
    subscribed = true;
    if (!closed) onSubscribed();
  })().catch(() => undefined); // the waiter reads the list again meanwhile
  return {
    get subscribed() {
      return subscribed;
    },
    close() {
      closed = true;
      void connection?.close();
    },
  };
}

/** Parses a record or a leave sent on the channel; undefined for anything else. */
function parse(text: string): PresenceRecord | { id: string; left: true } | undefined {
  try {
    const value = JSON.parse(text);
    if (value?.left === true && typeof value.id === 'string') return { id: value.id, left: true };
    return presenceRecordOf(value);
  } catch {
    return undefined;
  }
}

/** The {@link PresenceStore} of a Redis store. `keepMs` of the latest report bounds listings too. */
export function createRedisPresence(connected: () => Promise<unknown>, keys: RedisPresenceKeys): PresenceStore {
  let keepMs = 0;
  const listeners = new Set<(report: PresenceRecord | { id: string; left: true }) => void>();
  let subscriber: Session | undefined;
  const connectedListeners = new Set<() => void>();
  return {
    async report(record, keep) {
      keepMs = keep;
      const c = (await connected()) as Client;
      const now = Date.now();
      await c.eval(REPORT, {
        keys: [`${keys.prefix}${record.id}`, keys.index],
        arguments: [JSON.stringify(record), String(keep), String(now), record.id, String(now - keep), keys.channel],
      });
    },
    async leave(id) {
      const c = (await connected()) as Client;
      await c.eval(LEAVE, {
        keys: [`${keys.prefix}${id}`, keys.index],
        arguments: [id, keys.channel, JSON.stringify({ id, left: true })],
      });
    },
    async list() {
      const c = (await connected()) as Client;
      const since = keepMs > 0 ? Date.now() - keepMs : 0;
      const items = (await c.eval(LIST, { keys: [keys.index], arguments: [String(since), keys.prefix] })) as string[];
      return items.map(parse).filter((r): r is PresenceRecord => r !== undefined && !('left' in r));
    },
    subscribe(onReport, onConnected) {
      listeners.add(onReport);
      if (onConnected) connectedListeners.add(onConnected);
      if (subscriber?.subscribed && onConnected) queueMicrotask(onConnected);
      subscriber ??= openSession(
        connected,
        keys.channel,
        (message) => {
          const report = parse(message);
          if (report) for (const listener of listeners) listener(report);
        },
        () => {
          for (const l of connectedListeners) l();
        },
      );
      return () => {
        listeners.delete(onReport);
        if (onConnected) connectedListeners.delete(onConnected);
        if (listeners.size > 0 || !subscriber) return;
        subscriber.close();
        subscriber = undefined;
      };
    },
  };
}
