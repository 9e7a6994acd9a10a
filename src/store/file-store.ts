/**
 * The embedded state store: a keyv storage adapter over one JSON file. It re-reads the file on every get (so a
 * CLI or another process's change is seen), never writes on read, and writes atomically (temp file + rename in
 * the same directory), so a reader sees the old or the new document, never a torn one. A new file gets mode 0644 as
 * narrowed by the umask; a replaced file keeps its mode (an operator's `chmod 600` stays), since it may hold a
 * bypass verifier.
 */
import { randomBytes } from 'node:crypto';
import { type FSWatcher, promises as fs, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ANY_SCOPE, type ChangeFeed, type StateChange } from '../core/change-feed.js';
import { MaintenanceError } from '../core/errors.js';
import { normalizeState, parseStateDocument } from '../core/state.js';

/** keyv key under which the service keeps the state (in every store). */
export const STATE_KEY = 'maintenance_mode_state';

/** Mode of a new file, before the umask narrows it (so `umask 077` gives 0600). */
const FILE_MODE = 0o644;

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

/** What a written file is, for messages: its name and how to write somewhere else. */
export interface FileTarget {
  readonly what: string;
  readonly fix: string;
}

/** The state file as {@link writeFileAtomic} names it. */
const STATE_FILE: FileTarget = {
  what: 'the maintenance state file',
  fix: 'set stateFilePath / MAINTENANCE_MODE_STATE_FILE_PATH to a writable file path.',
};

/** The mode of the file at `path`, or undefined when there is none (then the umask decides). */
async function modeOf(path: string): Promise<number | undefined> {
  try {
    const stat = await fs.stat(path);
    return stat.isFile() ? stat.mode & 0o777 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes `text` to `path` atomically: a temp file in the same directory, fsync, rename. A file replaced keeps its mode;
 * a new one gets 0644 narrowed by the umask.
 */
export async function writeFileAtomic(path: string, text: string, target: FileTarget = STATE_FILE): Promise<void> {
  // Named after the file (no leading dot), so the .gitignore line for the state file's siblings covers a temp file
  // that a killed process leaves behind.
  const tmp = join(dirname(path), `${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    const keep = await modeOf(path);
    handle = await fs.open(tmp, 'wx', FILE_MODE);
    await handle.writeFile(text, 'utf8');
    if (keep !== undefined) await handle.chmod(keep);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw writeError(path, err, target);
  }
}

/** The error for a file that cannot be written: a directory in its place, or the directory missing or read-only. */
export function writeError(path: string, err: unknown, target: FileTarget = STATE_FILE): MaintenanceError {
  const code = errno(err);
  const problem =
    code === 'EISDIR'
      ? `${path} is a directory, not ${target.what}: remove it, or ${target.fix}`
      : `Cannot write ${target.what} ${path} (${code}). Make its directory exist and be writable by this process, or ${target.fix}`;
  return new MaintenanceError('ERR_MAINTENANCE_STORE_WRITE', problem, { cause: err });
}

const EMPTY_RETRY_MS = 15;

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return undefined;
    const problem =
      code === 'EISDIR'
        ? `${path} is a directory, not the maintenance state file: remove it, or ${STATE_FILE.fix}`
        : code === 'EACCES' || code === 'EPERM'
          ? `Cannot read the maintenance state file ${path} (${code}): this process may not read it. Check its owner and mode.`
          : `Cannot read the maintenance state file ${path} (${code}).`;
    throw new MaintenanceError('ERR_MAINTENANCE_STORE_READ', problem, { cause: err });
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
    return { value: parseStateDocument(text) }; // a corrupt document throws ERR_MAINTENANCE_STATE_CORRUPT
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
