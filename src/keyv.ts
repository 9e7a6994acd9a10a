/** The only file that imports keyv: builds the default file-backed keyv and recognises any keyv instance. */
import Keyv from 'keyv';
import { CHANGE_FEED } from './change-feed.js';
import { createFileChangeFeed, FileStateStore } from './file-store.js';

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

/** A keyv over the embedded {@link FileStateStore}: no key prefix, no serialisation (the file holds plain JSON). */
export function createFileKeyv(filePath: string): KeyvLike {
  const keyv = new Keyv({
    store: new FileStateStore(filePath),
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
    throwOnErrors: true,
  } as unknown as ConstructorParameters<typeof Keyv>[0]);
  Object.defineProperty(keyv, CHANGE_FEED, { value: createFileChangeFeed(filePath) });
  return keyv as unknown as KeyvLike;
}
