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
