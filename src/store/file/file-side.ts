/**
 * Where the embedded file store keeps everything but the state file: ONE directory beside it, named after it,
 * `<state file>.d/` (`maintenance_mode_state.json.d/`) — the revision counter, the history log, scope files, the token
 * table, claims, presence records, the lock, and the temp files of atomic writes (the state file's too: it is renamed
 * from there, on the same file system). The state file itself stays where it was, so configurations, django files and
 * `echo 1 > file` keep working. The directory is made by the first write that needs it, or the first look at the fleet,
 * never by reading the state; it holds a `.gitignore` of `*`, so a repository ignores it without being told.
 */
import { type FSWatcher, promises as fs, mkdirSync, statSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FILE_MODE } from './file-write.js';

/** What the side directory's name adds to the state file's. */
export const SIDE_DIR_SUFFIX = '.d';
/** The file that makes the side directory ignore itself; its mtime says when the directory was made. */
const IGNORE_FILE = '.gitignore';
const IGNORE_TEXT =
  '# koa-maintenance-mode: runtime files of the state file beside this directory; never committed\n*\n';

/** The side directory of the state file `statePath`. */
export function sideDirOf(statePath: string): string {
  return `${statePath}${SIDE_DIR_SUFFIX}`;
}

/** The path of the side file `name` of `statePath`. */
export function sidePathOf(statePath: string, name: string): string {
  return join(sideDirOf(statePath), name);
}

const code = (err: unknown) => (err as NodeJS.ErrnoException)?.code;

/**
 * Makes the side directory of `statePath` when there is none, with its `.gitignore`; resolves true when this call made
 * it. Rejects with the error of `mkdir` (ENOENT: the state file's own directory is missing).
 */
export async function makeSideDir(statePath: string): Promise<boolean> {
  const dir = sideDirOf(statePath);
  try {
    await fs.mkdir(dir, { mode: 0o755 });
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
  await writeIgnoreFile(dir);
  return true;
}

const writeIgnoreFile = (dir: string) =>
  fs.writeFile(join(dir, IGNORE_FILE), IGNORE_TEXT, { flag: 'wx', mode: FILE_MODE }).catch(() => undefined);

/** {@link makeSideDir}, synchronously (for the housekeeping done when a store is opened); throws what `mkdir` throws. */
export function makeSideDirSync(statePath: string): boolean {
  const dir = sideDirOf(statePath);
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    if (code(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    writeFileSync(join(dir, IGNORE_FILE), IGNORE_TEXT, { flag: 'wx', mode: FILE_MODE });
  } catch {
    // made meanwhile by another process
  }
  return true;
}

/** Whether the side directory of `statePath` exists. */
export async function hasSideDir(statePath: string): Promise<boolean> {
  return fs.stat(sideDirOf(statePath)).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * How long ago the side directory of `statePath` was made, in milliseconds, by its `.gitignore` (written with it); 0
 * when that is missing (the directory is being made, or the file was removed: it is written again now). Undefined when
 * there is no side directory.
 */
export async function sideDirAgeMs(statePath: string): Promise<number | undefined> {
  const dir = sideDirOf(statePath);
  try {
    return Math.max(0, Date.now() - (await fs.stat(join(dir, IGNORE_FILE))).mtimeMs);
  } catch {
    if (!(await hasSideDir(statePath))) return undefined;
    await writeIgnoreFile(dir);
    return 0;
  }
}

/** What {@link watchStateDir} tells. */
export interface StateDirListener {
  /** An entry of the state file's directory changed (null: the platform cannot say which). */
  readonly state?: (name: string | null) => void;
  /** An entry of the side directory changed (null: the platform cannot say which). */
  readonly side?: (name: string | null) => void;
  /**
   * The side directory is watched from now on: at once when it exists (`appeared` false), or since it appeared or was
   * made again (`appeared` true: what was written in it before the watch began was not told, so read it all).
   */
  readonly sideWatched?: (appeared: boolean) => void;
}

/**
 * Watches the state file's directory and, from the moment it exists, the side directory (a directory watch does not
 * see into a subdirectory). A side directory that appears, or is made again, is watched anew. Returns the function
 * that stops both; undefined when the state file's directory cannot be watched (it is missing, or the platform has no
 * watch left): then callers read on a timer.
 */
export function watchStateDir(statePath: string, on: StateDirListener): (() => void) | undefined {
  const sideDir = sideDirOf(statePath);
  const sideName = basename(sideDir);
  let side: { watcher: FSWatcher; ino: number } | undefined;
  const unwatchSide = () => {
    side?.watcher.close();
    side = undefined;
  };
  const watchSide = (appeared: boolean) => {
    let ino: number;
    try {
      ino = statSync(sideDir).ino;
    } catch {
      return unwatchSide(); // not there (any more)
    }
    if (side?.ino === ino) return;
    unwatchSide();
    try {
      const watcher = watch(sideDir, { persistent: false }, (_event, name) => on.side?.(name));
      watcher.on('error', unwatchSide);
      side = { watcher, ino };
    } catch {
      return;
    }
    on.sideWatched?.(appeared);
  };
  let parent: FSWatcher;
  try {
    parent = watch(dirname(statePath), { persistent: false }, (_event, name) => {
      if (name === null || name === sideName) watchSide(true);
      on.state?.(name);
    });
  } catch {
    return undefined; // e.g. the directory does not exist yet
  }
  const stop = () => {
    parent.close();
    unwatchSide();
  };
  parent.on('error', stop);
  watchSide(false);
  return stop;
}
