/** The only file that imports keyv: builds the default file-backed keyv, and keyv instances over other adapters. */
import Keyv from 'keyv';
import { CHANGE_FEED } from '../../core/change-feed.js';
import { CLAIMS } from '../../core/claims.js';
import { COMMITTER } from '../../core/commit.js';
import { HISTORY_LOG } from '../../core/history.js';
import { type KeyvLike, STATE_LOCATION } from '../../core/keyv-like.js';
import { PRESENCE } from '../../core/presence.js';
import { SCOPE_TABLE } from '../../core/scope.js';
import { createFileClaims } from '../file/file-claims.js';
import { createFileCommitter } from '../file/file-commit.js';
import { createFileHistoryLog } from '../file/file-history.js';
import { createFilePresence } from '../file/file-presence.js';
import { createFileScopeTable, SCOPE_FILE_PREFIX } from '../file/file-scopes.js';
import { createFileChangeFeed, FileStateStore } from '../file/file-state.js';
import { tidyStateFiles } from '../file/file-sweep.js';

/**
 * A keyv over the embedded {@link FileStateStore}: no key prefix, no serialisation (the file holds plain JSON). Opening
 * it tidies the state file's side files once per process (`file-sweep.ts`).
 */
export function createFileKeyv(filePath: string): KeyvLike {
  tidyStateFiles(filePath);
  const keyv = new Keyv({
    store: new FileStateStore(filePath),
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
    throwOnErrors: true,
  } as unknown as ConstructorParameters<typeof Keyv>[0]);
  const scopes = createFileScopeTable(filePath);
  const log = createFileHistoryLog(filePath);
  const properties: Array<[symbol, unknown]> = [
    [CHANGE_FEED, createFileChangeFeed(filePath, SCOPE_FILE_PREFIX)],
    [SCOPE_TABLE, scopes],
    [HISTORY_LOG, log],
    [COMMITTER, createFileCommitter(filePath, scopes, log)],
    [PRESENCE, createFilePresence(filePath)],
    [CLAIMS, createFileClaims(filePath)],
    [STATE_LOCATION, `The state file ${filePath}`],
  ];
  for (const [symbol, value] of properties) Object.defineProperty(keyv, symbol, { value });
  return keyv as unknown as KeyvLike;
}

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
