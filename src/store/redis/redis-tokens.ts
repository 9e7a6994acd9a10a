/**
 * The control API's Redis keys: the token table as one hash (field = the token's SHA-256, value = its record; each
 * token written on its own, so creators racing lose nothing) and the notification claims (`SET key NX PX`: the
 * first instance to claim an event sends it, the others see the key and stay quiet).
 */
import type { ClaimStore } from '../../core/claims.js';
import { isTokenRecord, type TokenRecord, type TokenTable } from '../../core/tokens.js';

interface RedisControlClient {
  hGet(key: string, field: string): Promise<string | null | undefined>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  hDel(key: string, field: string): Promise<unknown>;
  hGetAll(key: string): Promise<Record<string, string>>;
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<string | null>;
}

const parse = (text: string | null | undefined): TokenRecord | undefined => {
  if (typeof text !== 'string') return undefined;
  try {
    const record = JSON.parse(text) as unknown;
    return isTokenRecord(record) ? record : undefined;
  } catch {
    return undefined;
  }
};

/** The token table as the Redis hash `key`. */
export function createRedisTokenTable(connected: () => Promise<unknown>, key: string): TokenTable {
  const client = async () => (await connected()) as RedisControlClient;
  const list = async () =>
    Object.entries(await (await client()).hGetAll(key)).flatMap(([hash, text]) => {
      const r = parse(text);
      return r && r.hash === hash ? [r] : [];
    });
  return {
    async find(hash) {
      const r = parse(await (await client()).hGet(key, hash));
      return r?.hash === hash ? r : undefined;
    },
    list,
    async put(record) {
      await (await client()).hSet(key, record.hash, JSON.stringify(record));
    },
    async remove(id) {
      const found = (await list()).find((r) => r.id === id);
      if (!found) return false;
      await (await client()).hDel(key, found.hash);
      return true;
    },
  };
}

/** Notification claims as Redis keys `<prefix><name>` set with NX and a time to live. */
export function createRedisClaims(connected: () => Promise<unknown>, prefix: string): ClaimStore {
  return {
    async claim(name, ttlMs) {
      const c = (await connected()) as RedisControlClient;
      return (await c.set(`${prefix}${name}`, '1', { NX: true, PX: Math.max(1, Math.round(ttlMs)) })) === 'OK';
    },
  };
}
