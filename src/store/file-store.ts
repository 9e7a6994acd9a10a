/**
 * The embedded state store: a keyv storage adapter over one JSON file. It re-reads the file on every get (so a
 * CLI or another process's change is seen), never writes on read, and writes atomically (temp file + rename in
 * the same directory, mode 0644), so a reader sees the old or the new document, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { type FSWatcher, promises as fs, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ANY_SCOPE, type ChangeFeed, type StateChange } from '../core/change-feed.js';
import { MaintenanceError } from '../core/errors.js';
import { normalizeState, parseStateDocument } from '../core/state.js';

/** keyv key under which the service keeps the state (in every store). */
export const STATE_KEY = 'maintenance_mode_state';

const FILE_MODE = 0o644;

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

/** Writes `text` to `path` atomically: a temp file in the same directory, fsync, chmod 0644, rename. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', FILE_MODE);
    await handle.writeFile(text, 'utf8');
    await handle.chmod(FILE_MODE); // the umask may have narrowed the mode given to open()
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw new MaintenanceError(
      'ERR_MAINTENANCE_STORE_WRITE',
      `Cannot write the maintenance state file ${path} (${errno(err)}). ` +
        'Make its directory exist and be writable by this process, or set stateFilePath / ' +
        'MAINTENANCE_MODE_STATE_FILE_PATH to a writable location.',
      { cause: err },
    );
  }
}

const EMPTY_RETRY_MS = 15;

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw new MaintenanceError(
      'ERR_MAINTENANCE_STORE_READ',
      `Cannot read the maintenance state file ${path} (${errno(err)}). Check its permissions.`,
      { cause: err },
    );
  }
}

/**
 * keyv storage adapter keeping the maintenance state in `filePath` as plain JSON (readable and editable by
 * people, and compatible with django-maintenance-mode's `0`/`1` files). Other keys, if any, go to sibling
 * files `<filePath>.<key>.json`.
 */
export class FileStateStore {
  /** Set by keyv; unused because keys are mapped to files. */
  namespace?: string;
  /** Absolute or relative path of the state file. */
  readonly filePath: string;

  constructor(filePath: string) {
    this.filePath = filePath;
  }

  private pathFor(key: string): string {
    if (key === STATE_KEY || key.endsWith(`:${STATE_KEY}`)) return this.filePath;
    return `${this.filePath}.${encodeURIComponent(key)}.json`;
  }

  /** keyv entry `{ value }` for `key`, or undefined when the file does not exist. */
  async get(key: string): Promise<{ value: unknown } | undefined> {
    const path = this.pathFor(key);
    let text = await readOrUndefined(path);
    if (text !== undefined && text.trim() === '') {
      // `echo 1 > file` truncates before it writes: give a hand-edit in progress one short moment.
      await new Promise((r) => setTimeout(r, EMPTY_RETRY_MS));
      text = await readOrUndefined(path);
    }
    if (text === undefined) return undefined;
    if (path !== this.filePath) return { value: JSON.parse(text) };
    try {
      return { value: parseStateDocument(text) };
    } catch (err) {
      throw new MaintenanceError('ERR_MAINTENANCE_STATE_CORRUPT', `${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Stores keyv's entry (`{ value, expires }`, as an object or serialised string) as the file's document. */
  async set(key: string, entry: unknown): Promise<boolean> {
    const data = typeof entry === 'string' ? JSON.parse(entry) : entry;
    const value = (data as { value?: unknown } | undefined)?.value;
    const path = this.pathFor(key);
    const doc = path === this.filePath ? normalizeState(value) : value;
    await writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`);
    return true;
  }

  /** Removes the file of `key`; true when there was one. */
  async delete(key: string): Promise<boolean> {
    try {
      await fs.unlink(this.pathFor(key));
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Removes the state file (maintenance off). */
  async clear(): Promise<void> {
    await this.delete(STATE_KEY);
  }
}

/**
 * Change feed of the file store: a watch on the file's directory (the atomic rename replaces the file, so the
 * directory is what reports it) that signals "read again" when the state file changes, e.g. by the CLI or
 * another process, and "read the scopes again" when a scope file (named `<state file>.scope.…`) changes.
 * Nothing needs publishing: other processes' watches see the rename. When the directory cannot be watched, the
 * service falls back to reading once per `cacheTtlMs`.
 */
export function createFileChangeFeed(filePath: string, scopePrefix: string): ChangeFeed {
  const listeners = new Set<(change: StateChange) => void>();
  const name = basename(filePath);
  const notify = (change: StateChange) => {
    for (const listener of listeners) listener(change);
  };
  let watcher: FSWatcher | undefined;
  const stop = () => {
    watcher?.close();
    watcher = undefined;
  };
  const start = () => {
    if (watcher) return;
    try {
      watcher = watch(dirname(filePath), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) notify({});
        if (changed === null || changed.startsWith(scopePrefix)) notify({ scope: ANY_SCOPE });
      });
      watcher.on('error', stop);
    } catch {
      watcher = undefined; // e.g. the directory does not exist yet
    }
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    publish: async () => undefined,
    close: async () => {
      listeners.clear();
      stop();
    },
  };
}
