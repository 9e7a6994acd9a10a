/**
 * The embedded state store: a keyv storage adapter over one JSON file. It re-reads the file on every get (so a
 * CLI or another process's change is seen), never writes on read, and writes atomically (`writeFileAtomic`), so a
 * reader sees the old or the new document, never a torn one. Everything else it keeps lives in the side directory
 * beside the file (`file-side.ts`).
 */
import { promises as fs } from 'node:fs';
import { MaintenanceError } from '../../core/errors.js';
import { normalizeState, parseStateDocument } from '../../core/state.js';
import { STATE_KEY } from '../store-keys.js';
import { makeSideDir, sideDirOf, sidePathOf } from './file-side.js';
import { errno, STATE_FILE, writeError, writeFileAtomic } from './file-write.js';

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
 * Writes the state file `statePath` atomically, its temp file in the side directory (made when missing): nothing but
 * the state file itself is ever written beside it.
 */
export async function writeStateFile(statePath: string, text: string): Promise<void> {
  await makeSideDir(statePath).catch((err) => {
    throw writeError(statePath, err);
  });
  await writeFileAtomic(statePath, text, STATE_FILE, sideDirOf(statePath));
}

/**
 * keyv storage adapter keeping the maintenance state in `filePath` as plain JSON (readable and editable by
 * people, and compatible with django-maintenance-mode's `0`/`1` files). Other keys, if any, go to files
 * `<key>.json` in the side directory `<filePath>.d/`.
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
    return sidePathOf(this.filePath, `${encodeURIComponent(key)}.json`);
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
    if (path === this.filePath) {
      await writeStateFile(path, `${JSON.stringify(normalizeState(value), null, 2)}\n`);
      return true;
    }
    await makeSideDir(this.filePath).catch((err) => {
      throw writeError(path, err);
    });
    await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
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
