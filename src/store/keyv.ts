/** The only file that imports keyv: builds the default file-backed keyv. */
import Keyv from 'keyv';
import { CHANGE_FEED } from '../core/change-feed.js';
import { HISTORY_LOG } from '../core/history.js';
import type { KeyvLike } from '../core/keyv-like.js';
import { SCOPE_TABLE } from '../core/scope.js';
import { createFileHistoryLog } from './file-history.js';
import { createFileScopeTable, scopeFilePrefix } from './file-scopes.js';
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
  Object.defineProperty(keyv, CHANGE_FEED, { value: createFileChangeFeed(filePath, scopeFilePrefix(filePath)) });
  Object.defineProperty(keyv, SCOPE_TABLE, { value: createFileScopeTable(filePath) });
  Object.defineProperty(keyv, HISTORY_LOG, { value: createFileHistoryLog(filePath) });
  return keyv as unknown as KeyvLike;
}
