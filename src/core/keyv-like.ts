/** The part of a keyv instance this library uses, and how it recognises one. Pure (no keyv import). */

/** The part of a keyv instance this library uses (duck-typed: never `instanceof Keyv`, keyv ships CJS and ESM). */
export interface KeyvLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  throwOnErrors?: boolean;
  namespace?: string;
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
