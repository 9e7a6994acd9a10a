/**
 * `createFileStore()`: the embedded store, one JSON state file and a side directory beside it (`<file>.d/`), for one
 * process or several on one host. Where each file goes: docs/internals.md.
 */
import { resolve } from 'node:path';
import type { KeyvLike } from '../../core/keyv-like.js';
import { invalidOption } from '../../core/validate.js';
import { createKeyvTokenTable } from '../keyv/keyv-tokens.js';
import type { MaintenanceStore } from '../maintenance-store.js';
import { STATE_KEY } from '../store-keys.js';
import { createFileClaims } from './file-claims.js';
import { createFileCommitter } from './file-commit.js';
import { createFileChangeFeed } from './file-feed.js';
import { createFileHistoryLog } from './file-history.js';
import { createFilePresence } from './file-presence.js';
import { createFileScopeTable, SCOPE_FILE_PREFIX } from './file-scopes.js';
import { FileStateStore } from './file-state.js';
import { tidyStateFiles } from './file-sweep.js';

/** Options for {@link createFileStore}. */
export interface FileStoreOptions {
  /** The state file, resolved against the working directory (e.g. `'./maintenance_mode_state.json'`). */
  readonly path: string;
}

/** The side files of `adapter` as plain keys (its `{ value }` entries unwrapped), for the tables kept in one key. */
function keysOf(adapter: FileStateStore): KeyvLike {
  return {
    get: async (key) => (await adapter.get(key))?.value,
    set: (key, value) => adapter.set(key, { value }),
    delete: (key) => adapter.delete(key),
  };
}

/**
 * The embedded file store: the state as a JSON file people can read and edit (django-maintenance-mode's `0`/`1` files
 * read too), everything else in the side directory `<path>.d/`, made by the first write that needs it. A switch lands
 * under a lock file (revision, state, history line), a directory watch pushes changes to every process on the host,
 * and instances keep presence records once the side directory exists. Opening it tidies what processes that died
 * left behind (once per process and file). `close()` stops its watches.
 * @example new MaintenanceService({ store: createFileStore({ path: '/var/lib/app/maintenance.json' }) })
 */
export function createFileStore(options: FileStoreOptions | string): MaintenanceStore {
  const given = typeof options === 'string' ? options : (options as FileStoreOptions | undefined)?.path;
  if (typeof given !== 'string' || given === '') {
    invalidOption(
      'createFileStore(options)',
      'takes the state file path, e.g. createFileStore({ path: "./maintenance_mode_state.json" })',
      options,
    );
  }
  const path = resolve(given);
  tidyStateFiles(path);
  const state = new FileStateStore(path);
  const scopes = createFileScopeTable(path);
  const history = createFileHistoryLog(path);
  const changeFeed = createFileChangeFeed(path, SCOPE_FILE_PREFIX);
  return {
    description: `the state file ${path}`,
    stateLocation: `The state file ${path}`,
    readState: async () => (await state.get(STATE_KEY))?.value,
    ...createFileCommitter(path, scopes, history),
    scopes,
    history,
    claims: createFileClaims(path),
    tokens: createKeyvTokenTable(keysOf(state)),
    changeFeed,
    presence: createFilePresence(path),
    close: () => changeFeed.close(),
  };
}
