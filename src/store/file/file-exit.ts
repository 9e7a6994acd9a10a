/**
 * What a clean exit removes: the files of this process that nobody else would remove soon — its presence records and
 * the temp file of a write under way. One `exit` listener for the whole process (however many stores it opens), there
 * only while something is to be removed; it unlinks synchronously, as an `exit` listener must. No signal handler is
 * installed (that would change how the app exits): a process killed by a signal it does not handle runs no listener,
 * and what it leaves is swept as stale by the next process that opens the store (`file-sweep.ts`).
 */
import { unlinkSync } from 'node:fs';

const files = new Set<string>();

function removeAll(): void {
  for (const path of files) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  files.clear();
}

/** Removes `path` when the process exits cleanly (unless {@link keepOnExit} is called first). */
export function removeOnExit(path: string): void {
  if (files.size === 0) process.on('exit', removeAll);
  files.add(path);
}

/** Forgets `path` (it was renamed or removed already); the listener goes with the last file. */
export function keepOnExit(path: string): void {
  if (!files.delete(path)) return;
  if (files.size === 0) process.off('exit', removeAll);
}
