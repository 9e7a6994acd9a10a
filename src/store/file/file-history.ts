/**
 * The history of the embedded file store as an append-only JSON-lines file in the side directory
 * (`<state file>.d/history.jsonl`), so that processes changing the state at the same instant lose no entry: every
 * change is one `O_APPEND` write of one line (the kernel orders such writes; none overwrites another). The log is kept bounded by rotation instead of rewriting: once it
 * holds `limit` lines it is renamed to `<log>.1` (a write already under way lands there and is still read), and
 * reads take the newest `limit` entries of both files. One process rotates at a time (an exclusive lock file).
 */
import { promises as fs } from 'node:fs';
import { type HistoryEntry, type HistoryLog, normalizeHistory } from '../../core/history.js';
import { makeSideDir, sidePathOf } from './file-side.js';
import { errno, FILE_MODE } from './file-write.js';

/** A lock older than this was left by a process that died while rotating; it is broken. */
const STALE_LOCK_MS = 10_000;

async function readLines(path: string): Promise<string[]> {
  try {
    return (await fs.readFile(path, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  } catch (err) {
    if (errno(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Entries of the lines, skipping a line torn by a crash mid-write. */
function parseLines(lines: readonly string[]): HistoryEntry[] {
  return normalizeHistory(
    lines.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return undefined;
      }
    }),
  );
}

/** Takes the rotation lock, or returns false when another process holds it (it rotates; this one need not). */
async function tryLock(lock: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await (await fs.open(lock, 'wx', 0o644)).close();
      return true;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      const age = await fs.stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age < STALE_LOCK_MS) return false;
      await fs.unlink(lock).catch(() => undefined);
    }
  }
  return false;
}

/** Renames a full log to `<log>.1`, once, under the lock; a process that finds the lock taken leaves it to its holder. */
async function rotateIfFull(log: string, limit: number): Promise<void> {
  if ((await readLines(log)).length < limit) return;
  const lock = `${log}.lock`;
  if (!(await tryLock(lock))) return;
  try {
    // Checked again under the lock: another process may have rotated since the first count.
    if ((await readLines(log)).length >= limit) await fs.rename(log, `${log}.1`);
  } finally {
    await fs.unlink(lock).catch(() => undefined);
  }
}

/** The {@link HistoryLog} kept in `history.jsonl` in the side directory of `statePath`. */
export function createFileHistoryLog(statePath: string): HistoryLog {
  const log = sidePathOf(statePath, 'history.jsonl');
  return {
    async append(entry, limit) {
      await makeSideDir(statePath);
      // A new log gets 0644 narrowed by the umask, like the state file; an existing one keeps its mode.
      await fs.appendFile(log, `${JSON.stringify(entry)}\n`, { encoding: 'utf8', mode: FILE_MODE });
      await rotateIfFull(log, limit);
    },
    async read(limit) {
      const [older, newer] = await Promise.all([readLines(`${log}.1`), readLines(log)]);
      // A write that raced a rotation ends the older file: order by time (stable for equal instants).
      const entries = parseLines([...older, ...newer]).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
      return entries.slice(-Math.max(1, limit));
    },
  };
}
