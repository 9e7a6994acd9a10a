/** The only file that imports keyv: keyv instances over the storage adapters of the stores that keep a keyv row. */
import Keyv from 'keyv';
import type { KeyvLike } from '../../core/keyv-like.js';

/**
 * A keyv over `adapter` that throws on store errors (keyv's default swallows them, which would read as "off"), with
 * no key prefix, so the state lives under `maintenance_mode_state`.
 */
export function keyvOver(adapter: unknown, namespace: string): OwnKeyv {
  const keyv = new Keyv({
    store: adapter,
    namespace,
    useKeyPrefix: false,
    throwOnErrors: true,
  } as unknown as ConstructorParameters<typeof Keyv>[0]);
  keyv.on('error', () => undefined); // failures surface as thrown errors on each call
  return keyv as unknown as OwnKeyv;
}

/** A keyv built by {@link keyvOver}: with keyv's serialiser, for stores that write a keyv row themselves. */
export type OwnKeyv = KeyvLike & {
  on(e: string, l: () => void): unknown;
  serializeData(data: { value: unknown }): Promise<string>;
};
