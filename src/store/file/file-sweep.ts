/**
 * Housekeeping of the embedded file store, done once per process and state file when the store is opened (the app's
 * service, a CLI command): what processes that are gone left behind is removed once it is stale, and what an older
 * version kept beside the state file moves into the side directory.
 *
 * - In the side directory: presence records not rewritten for 20 of their intervals (100 s at the default), and temp
 *   files older than an hour (a live writer renames its temp file within its store timeout; one an hour old belongs to
 *   a process killed mid-write).
 * - Beside the state file (the layout before 0.2, `<state file>.<name>`): the same presence records and temp files,
 *   locks older than 10 s and claims that ended are removed; the revision counter, the history log, scope files, claims
 *   still held and the token table are moved into the side directory, unless one of that name is there already. Any
 *   other file is not ours and is left alone.
 *
 * Synchronous: it runs before the store's first read, so a scope file or a token is where the store looks for it.
 */
import { constants, copyFileSync, linkSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { forgetAfterMs, presenceRecordOf } from '../../core/presence.js';
import { makeSideDirSync, sideDirOf } from './file-side.js';
import { errno } from './file-write.js';

/** A temp file older than this belongs to a process killed mid-write (no live writer keeps one that long). */
export const STALE_TEMP_MS = 3_600_000;
/** A lock older than this was left by a process that died holding it (the committer breaks one after 5 s). */
const STALE_LOCK_MS = 10_000;

/** The side files an older version wrote beside the state file that hold data: moved, never removed. */
const DATA = /^(?:revision|history\.jsonl(?:\.1)?|scope\.[0-9a-f]{32}\.json|[^.]*maintenance_mode_\w+\.json)$/;

const tidied = new Set<string>();

/** Tidies the files of `statePath` (see the module's description), once per process; never throws. */
export function tidyStateFiles(statePath: string): void {
  if (tidied.has(statePath)) return;
  tidied.add(statePath);
  tidyOldLayout(statePath);
  tidySideDir(statePath);
}

const mtimeOf = (path: string): number | undefined => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};
const olderThan = (path: string, ms: number) => Date.now() - (mtimeOf(path) ?? Date.now()) > ms;
const remove = (path: string) => {
  try {
    unlinkSync(path);
  } catch {
    // removed meanwhile
  }
};

/** Whether the presence record at `path` was not rewritten for 20 of its intervals (as the listing forgets it). */
function isForgotten(path: string): boolean {
  let record: ReturnType<typeof presenceRecordOf>;
  try {
    record = presenceRecordOf(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    record = undefined;
  }
  return olderThan(path, forgetAfterMs(record));
}

/** Whether the claim file at `path` ended (its content is the time it holds until). */
function hasEnded(path: string): boolean {
  try {
    return (Number(readFileSync(path, 'utf8').trim()) || 0) < Date.now();
  } catch {
    return false;
  }
}

function tidySideDir(statePath: string): void {
  const dir = sideDirOf(statePath);
  for (const name of list(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.tmp')) {
      if (olderThan(path, STALE_TEMP_MS)) remove(path);
    } else if (name.startsWith('presence.') && name.endsWith('.json') && isForgotten(path)) remove(path);
  }
}

function tidyOldLayout(statePath: string): void {
  const dir = dirname(statePath);
  const prefix = `${basename(statePath)}.`;
  const sideName = basename(sideDirOf(statePath));
  const entries = list(dir);
  // A process of the old layout that may still run keeps using its files: they move only once none reports.
  const oldLayoutLive = entries.some(
    (e) => e.startsWith(`${prefix}presence.`) && e.endsWith('.json') && !isForgotten(join(dir, e)),
  );
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || entry === sideName) continue;
    const name = entry.slice(prefix.length);
    const path = join(dir, entry);
    if (name.endsWith('.tmp')) {
      if (olderThan(path, STALE_TEMP_MS)) remove(path);
    } else if (name.startsWith('presence.') && name.endsWith('.json')) {
      if (isForgotten(path)) remove(path);
    } else if (name === 'lock' || name === 'history.jsonl.lock') {
      if (olderThan(path, STALE_LOCK_MS)) remove(path);
    } else if (/^claim\.[0-9a-f]{32}$/.test(name)) {
      if (hasEnded(path)) remove(path);
      else if (!oldLayoutLive) moveIntoSideDir(statePath, path, name);
    } else if (DATA.test(name) && !oldLayoutLive) moveIntoSideDir(statePath, path, name);
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Moves `path` to `name` in the side directory (made when missing), unless a file of that name is there already. */
function moveIntoSideDir(statePath: string, path: string, name: string): void {
  const target = join(sideDirOf(statePath), name);
  try {
    makeSideDirSync(statePath);
    linkSync(path, target); // atomic, and never replaces: another process may have moved it already
    remove(path);
  } catch (err) {
    // EEXIST: taken already, the file stays where it was; ENOENT: moved meanwhile by another process. A file system
    // without hard links: copied, never over a file that is there (COPYFILE_EXCL), then removed.
    if (errno(err) === 'EEXIST' || errno(err) === 'ENOENT') return;
    try {
      copyFileSync(path, target, constants.COPYFILE_EXCL);
      remove(path);
    } catch {
      // cannot be moved: it stays where it was
    }
  }
}
