/** The only file that imports keyv: builds the default file-backed keyv. */
import Keyv from 'keyv';
import { CHANGE_FEED } from '../core/change-feed.js';
import { HISTORY_LOG } from '../core/history.js';
import type { KeyvLike } from '../core/keyv-like.js';
import { createFileHistoryLog } from './file-history.js';
import { createFileChangeFeed, FileStateStore } from './file-store.js';

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
  Object.defineProperty(keyv, HISTORY_LOG, { value: createFileHistoryLog(filePath) });
  return keyv as unknown as KeyvLike;
}
