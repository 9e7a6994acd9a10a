/** The part of a keyv instance this library uses, and how it recognises one. Pure (no keyv import). */

/** The part of a keyv instance this library uses (duck-typed: never `instanceof Keyv`, keyv ships CJS and ESM). */
export interface KeyvLike {
  /** The value under `key`, undefined when there is none. */
  get(key: string): Promise<unknown>;
  /** Stores `value` under `key` (for `ttl` milliseconds); false or a throw when it was not stored. */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  /** Removes `key`. */
  delete(key: string): Promise<unknown>;
  /** Subscribes to keyv's events (`error`). */
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  /** keyv's switch that makes store errors throw; the service turns it on. */
  throwOnErrors?: boolean;
  /** keyv's key namespace (accepted as undefined, as keyv's own types give it). */
  namespace?: string | undefined;
  /** Closes the store's connections. */
  disconnect?(): Promise<unknown>;
}

/** Whether `value` can be used as a keyv instance. */
export function isKeyvLike(value: unknown): value is KeyvLike {
  const v = value as Record<string, unknown> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.get === 'function' &&
    typeof v.set === 'function' &&
    typeof v.delete === 'function'
  );
}

/** Property under which a store carries the description used in messages (e.g. "Redis at redis://host:6379"). */
export const STORE_DESCRIPTION = Symbol.for('koa-maintenance-mode.store-description');

/**
 * Property under which a store says where it keeps the global state, for messages about it (e.g. "the Redis key
 * maintenance-mode::maintenance_mode_state"); stores without one are "the key maintenance_mode_state of the keyv store".
 */
export const STATE_LOCATION = Symbol.for('koa-maintenance-mode.state-location');

/**
 * Property under which a store offers `destroy()`: drop every connection at once, without waiting for the server. Used
 * when a graceful close does not finish in time (a stalled server), so a process can always exit.
 */
export const STORE_DESTROY = Symbol.for('koa-maintenance-mode.store-destroy');

/** The text of `store` under `symbol`, if it carries one. */
export function storeText(store: unknown, symbol: symbol): string | undefined {
  const v = (store as Record<symbol, unknown> | null)?.[symbol];
  return typeof v === 'string' ? v : undefined;
}
