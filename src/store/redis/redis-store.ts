/** `createRedisStore()`: a store on Redis, over @keyv/redis, that fails fast (the only file loading @keyv/redis). */
import { ANY_SCOPE, type ChangeFeed, decodeChange, encodeChange, type StateChange } from '../../core/change-feed.js';
import { MaintenanceError } from '../../core/errors.js';
import { HISTORY_KEY, type HistoryLog, normalizeHistory } from '../../core/history.js';
import { loadPeer } from '../../core/peer.js';
import { redactUrl, shownUrl } from '../../core/redact.js';
import type { ScopeTable } from '../../core/scope.js';
import { type MaintenanceState, normalizeState } from '../../core/state.js';
import { invalidOption } from '../../core/validate.js';
import { urlAndOptions, type WithUrl } from '../factory-args.js';
import type { KeyvBackedStore } from '../maintenance-store.js';
import { REVISION_KEY, SCOPES_KEY, STATE_KEY, TOKENS_KEY } from '../store-keys.js';
import { createRedisCommitter, type RedisKeys } from './redis-commit.js';
import { type NodeRedisClient, type RedisConnection, watchRedisConnection } from './redis-connection.js';
import { createRedisPresence } from './redis-presence.js';
import { createRedisClaims, createRedisTokenTable } from './redis-tokens.js';

/** Options for {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Key namespace; the state lives under `<namespace>::maintenance_mode_state`. @default 'maintenance-mode' */
  readonly namespace?: string;
  /** How long connecting may take before a call fails, in milliseconds. @default 300 */
  readonly connectTimeoutMs?: number;
}

/** Default values of {@link RedisStoreOptions}. */
export const REDIS_DEFAULTS = Object.freeze({ namespace: 'maintenance-mode', connectTimeoutMs: 300 });

/**
 * A `MaintenanceStore` on Redis, configured so an outage throws at once instead of hanging or reading as "off":
 * no offline queue, a connect timeout, `throwOnErrors` on the adapter and on keyv, and a reconnect strategy that keeps
 * trying in the background. Every switch is one script (state, history entry, change message); changes are pushed by
 * pub/sub; the fleet, tokens and claims live in keys of the same namespace. Every store built by this factory uses the
 * same key layout. The result is also a keyv-like view of its keys (`get`, `set`, `delete`, `disconnect`).
 * @example new MaintenanceService({ store: createRedisStore('redis://127.0.0.1:6379') })
 */
export function createRedisStore(options: WithUrl<RedisStoreOptions>): KeyvBackedStore;
/**
 * The same store from a URL and the other options apart.
 * @example createRedisStore('redis://127.0.0.1:6379', { namespace: 'shop' })
 */
export function createRedisStore(url: string, options?: RedisStoreOptions): KeyvBackedStore;
export function createRedisStore(
  first: string | WithUrl<RedisStoreOptions>,
  second?: RedisStoreOptions,
): KeyvBackedStore {
  const { url, namespace, connectTimeout } = redisSettings(first, second);
  const description = `Redis at ${redactUrl(url)}`;
  const { client, adapter, connection, keyv } = connectRedis(url, { namespace, connectTimeout, description });
  const connected = () => adapter.getClient() as Promise<unknown>;
  const keys: RedisKeys = {
    state: `${namespace}::${STATE_KEY}`,
    revision: `${namespace}::${REVISION_KEY}`,
    scopes: `${namespace}::${SCOPES_KEY}`,
    history: `${namespace}::${HISTORY_KEY}`,
    channel: `${namespace}::changes`,
  };
  const changeFeed = createRedisChangeFeed(client, connected, keys.channel);
  // The global state is written as keyv writes it (its serialisation), so keyv reads it back unchanged.
  const serialize = (state: MaintenanceState) => keyv.serializeData({ value: state }) as Promise<string>;
  const close = async () => {
    await changeFeed.close();
    await connection.close();
  };
  return {
    description,
    stateLocation: `The Redis key ${keys.state} (${description})`,
    readState: () => keyv.get(STATE_KEY),
    ...createRedisCommitter(connected, keys, serialize),
    scopes: createRedisScopeTable(connected, keys.scopes),
    history: createRedisHistoryLog(connected, keys.history),
    claims: createRedisClaims(connected, `${namespace}::claim:`),
    tokens: createRedisTokenTable(connected, `${namespace}::${TOKENS_KEY}`),
    changeFeed,
    presence: createRedisPresence(connected, {
      index: `${namespace}::presence`,
      prefix: `${namespace}::presence:`,
      channel: `${namespace}::presence-changes`,
    }),
    close,
    destroy: () => void Promise.all([changeFeed.close(), connection.close()]),
    get: (key) => keyv.get(key),
    set: (key, value, ttl) => keyv.set(key, value, ttl),
    delete: (key) => keyv.delete(key),
    disconnect: close,
  };
}

/** The URL, namespace and connect timeout of a call to {@link createRedisStore}, checked. */
function redisSettings(first: unknown, second: RedisStoreOptions | undefined) {
  const { url, options } = urlAndOptions('createRedisStore', first, second);
  if (typeof url !== 'string' || !/^rediss?:\/\//i.test(url)) {
    invalidOption(
      'createRedisStore(url)',
      'takes a redis:// or rediss:// URL such as "redis://127.0.0.1:6379"',
      shownUrl(url),
    );
  }
  const namespace = options.namespace ?? REDIS_DEFAULTS.namespace;
  const connectTimeout = options.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs;
  if (typeof namespace !== 'string' || namespace === '')
    invalidOption('namespace', 'must be a non-empty string', namespace);
  if (!Number.isInteger(connectTimeout) || connectTimeout < 1) {
    invalidOption('connectTimeoutMs', 'must be a whole number of milliseconds >= 1', connectTimeout);
  }
  return { url, namespace, connectTimeout };
}

/**
 * The node-redis client of one store, the keyv over it, and the connection that can always be dropped: a client that
 * fails fast, connected lazily by @keyv/redis one attempt at a time, never again once closed.
 */
function connectRedis(url: string, s: { namespace: string; connectTimeout: number; description: string }) {
  const redis = loadPeer(
    () => require('@keyv/redis') as typeof import('@keyv/redis'),
    '@keyv/redis',
    'createRedisStore()',
  );
  const client = redis.createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: s.connectTimeout,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000),
    },
  });
  client.on('error', () => undefined); // failures surface as thrown errors on each call; see the service's policy
  const connection = watchRedisConnection(client as never, s.description);
  const adapter = new redis.default(client as never, {
    namespace: s.namespace,
    connectionTimeout: s.connectTimeout,
    throwOnConnectError: true,
    throwOnErrors: true,
  });
  // @keyv/redis 5.1 connects lazily in getClient(), and two calls racing while disconnected make the second
  // connect() throw, after which it destroys the client and both calls fail. Let one connection attempt at a time.
  // Dropping the connection does not wait for replies (a graceful close waits for replies a stalled server never
  // sends); every write has been awaited by then, and the server runs what it received. The adapter drops it after a
  // failed connect too, so only the store's own close (close(), destroy()) ends it for good.
  adapter.disconnect = () => connection.drop();
  const getClient = adapter.getClient.bind(adapter);
  let connecting: ReturnType<typeof getClient> | undefined;
  adapter.getClient = () => {
    // After close, a call still on its way must not connect again (#30: it kept `on --wait` from exiting).
    if (connection.closed) return Promise.reject(connection.closedError());
    connection.opening();
    connecting ??= getClient().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  const keyv = new redis.Keyv({ store: adapter, namespace: s.namespace, useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', () => undefined);
  return { client, adapter, connection, keyv };
}

interface ListClient {
  multi(): { rPush(key: string, value: string): ListMulti };
  lRange(key: string, start: number, stop: number): Promise<string[]>;
}
interface ListMulti {
  lTrim(key: string, start: number, stop: number): { exec(): Promise<unknown> };
}

/** The history as a Redis list: RPUSH + LTRIM in one MULTI, so instances writing at once lose no entry. */
function createRedisHistoryLog(connected: () => Promise<unknown>, key: string): HistoryLog {
  return {
    async append(entry, limit) {
      const c = (await connected()) as ListClient;
      await c.multi().rPush(key, JSON.stringify(entry)).lTrim(key, -limit, -1).exec();
    },
    async read(limit) {
      const c = (await connected()) as ListClient;
      const items = await c.lRange(key, -Math.max(1, limit), -1);
      return normalizeHistory(
        items.map((item) => {
          try {
            return JSON.parse(item);
          } catch {
            return undefined;
          }
        }),
      );
    },
  };
}

interface HashClient {
  hGet(key: string, field: string): Promise<string | null | undefined>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  hDel(key: string, field: string): Promise<unknown>;
  hGetAll(key: string): Promise<Record<string, string>>;
}

/** The scopes as one Redis hash: each scope is one field, written on its own (HSET / HDEL), listed with HGETALL. */
function createRedisScopeTable(connected: () => Promise<unknown>, key: string): ScopeTable {
  const parse = (scope: string, text: string) => {
    try {
      return normalizeState(JSON.parse(text));
    } catch (err) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_STATE_CORRUPT',
        `The state of scope ${JSON.stringify(scope)} in the Redis hash ${key} is not valid: ${(err as Error).message}`,
      );
    }
  };
  return {
    async get(scope) {
      const text = await ((await connected()) as HashClient).hGet(key, scope);
      return typeof text === 'string' ? parse(scope, text) : undefined;
    },
    async set(scope, state) {
      const c = (await connected()) as HashClient;
      await (state === undefined ? c.hDel(key, scope) : c.hSet(key, scope, JSON.stringify(state)));
    },
    async list() {
      const all = await ((await connected()) as HashClient).hGetAll(key);
      return new Map(Object.entries(all).map(([scope, text]) => [scope, parse(scope, text)] as const));
    },
  };
}

type PubSubClient = NodeRedisClient & {
  duplicate(): PubSubClient;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
};

/**
 * Redis pub/sub change feed: every write publishes which state changed on `channel` (by the commit script); a
 * dedicated subscriber connection (opened on first subscribe, reconnecting in the background) hands it to the local
 * caches, which read it again. After every (re)connection the caches are told to read everything again, because
 * messages sent meanwhile are not replayed.
 */
function createRedisChangeFeed(client: unknown, connected: () => Promise<unknown>, channel: string): ChangeFeed {
  const listeners = new Set<(change: StateChange) => void>();
  const notify = (change: StateChange) => {
    for (const listener of listeners) listener(change);
  };
  /** After a (re)connection: pushes sent meanwhile were missed, so read the state and the scopes again. */
  const readAgain = () => {
    notify({});
    notify({ scope: ANY_SCOPE });
  };
  let subscriber: RedisConnection | undefined;
  const start = () => {
    if (subscriber) return;
    const sub = (client as PubSubClient).duplicate();
    sub.on('error', () => undefined);
    sub.on('ready', () => setTimeout(readAgain, 50).unref()); // after node-redis has resubscribed
    subscriber = watchRedisConnection(sub, 'The change feed subscriber');
    subscriber.opening();
    sub
      .connect()
      .then(() =>
        sub.subscribe(channel, (message) => {
          const change = decodeChange(message);
          if (change) notify(change);
          else readAgain();
        }),
      )
      .then(readAgain)
      .catch(() => undefined); // keeps reconnecting; the caches poll once per cacheTtlMs meanwhile
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      start();
      return () => listeners.delete(listener);
    },
    async publish(change) {
      const c = (await connected()) as PubSubClient;
      await c.publish(channel, encodeChange(change));
    },
    async close() {
      listeners.clear();
      const closing = subscriber?.close(); // also while it connects: it must not stay open (#30)
      subscriber = undefined;
      await closing;
    },
  };
}
