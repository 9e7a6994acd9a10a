/**
 * How the embedded file store lands a switch: under an exclusive lock file (`lock` in the side directory), the next
 * revision (`revision` there), then the state (or the scope's file), then its history line. Processes on one host that
 * switch at the same instant take turns, so no revision is given twice and none is lost; a lock left by a process that
 * died is broken after a while. The directory watch is the push (see `createFileChangeFeed`).
 */
import { promises as fs } from 'node:fs';
import { type Committer, revisionConflict } from '../../core/commit.js';
import type { HistoryLog } from '../../core/history.js';
import type { ScopeTable } from '../../core/scope.js';
import { normalizeState } from '../../core/state.js';
import { makeSideDir, sidePathOf } from './file-side.js';
import { writeStateFile } from './file-state.js';
import { errno, writeError, writeFileAtomic } from './file-write.js';

/** A lock older than this was left by a process that died holding it; it is broken. */
const STALE_LOCK_MS = 5000;
const RETRY_MS = 5;

/**
 * Runs `task` holding the lock of `statePath` (made first, with the side directory that holds it), waiting for another
 * holder (the caller's timeout bounds the wait).
 */
async function withLock<T>(statePath: string, task: () => Promise<T>): Promise<T> {
  const lock = sidePathOf(statePath, 'lock');
  await makeSideDir(statePath).catch((err) => {
    throw writeError(statePath, err); // the state file's directory is missing or read-only
  });
  for (;;) {
    try {
      await (await fs.open(lock, 'wx', 0o644)).close();
      break;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw writeError(statePath, err); // the directory is missing or read-only
      const age = await fs.stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await fs.unlink(lock).catch(() => undefined);
      else await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  try {
    return await task();
  } finally {
    await fs.unlink(lock).catch(() => undefined);
  }
}

/** The number in the revision file `path` (0 when there is none). */
async function readRevision(path: string): Promise<number> {
  try {
    const n = Number((await fs.readFile(path, 'utf8')).trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  } catch (err) {
    if (errno(err) === 'ENOENT') return 0;
    throw err;
  }
}

/** The {@link Committer} of the state file `statePath`, over its scope table and history log. */
export function createFileCommitter(statePath: string, scopes: ScopeTable, log: HistoryLog): Committer {
  const revisionPath = sidePathOf(statePath, 'revision');
  const target = { what: 'the revision file', fix: 'make the state file’s directory writable by this process.' };
  return {
    commit({ scope, state, entry, ifRevision }, { historyLimit }) {
      return withLock(statePath, async () => {
        const current = await readRevision(revisionPath);
        if (ifRevision !== undefined && current !== ifRevision) throw revisionConflict(ifRevision, current);
        const revision = current + 1;
        await writeFileAtomic(revisionPath, `${revision}\n`, target);
        const stamped = normalizeState({ ...state, revision });
        if (scope === undefined) await writeStateFile(statePath, `${JSON.stringify(stamped, null, 2)}\n`);
        else await scopes.set(scope, stamped.enabled ? stamped : undefined);
        if (entry !== undefined) await log.append({ ...entry, revision }, historyLimit);
        return revision;
      });
    },
    revision: () => readRevision(revisionPath),
  };
}
