/**
 * Atomic writes of the embedded file store: a temp file, fsync, rename over the target, so a reader sees the old or
 * the new document, never a torn one. A new file gets mode 0644 as narrowed by the umask; a replaced file keeps its
 * mode (an operator's `chmod 600` stays), since it may hold a bypass verifier.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MaintenanceError } from '../../core/errors.js';
import { keepOnExit, removeOnExit } from './file-exit.js';

/** Mode of a new file, before the umask narrows it (so `umask 077` gives 0600). */
export const FILE_MODE = 0o644;

/** The error code of `err` (a Node system error: `ENOENT`, `EEXIST`, …), or its text for any other error. */
export function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

/** What a written file is, for messages: its name and how to write somewhere else. */
export interface FileTarget {
  readonly what: string;
  readonly fix: string;
}

/** The state file as {@link writeFileAtomic} names it. */
export const STATE_FILE: FileTarget = {
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
 * Writes `text` to `path` atomically: a temp file in `tmpDir` (which must be on the same file system: the file's own
 * directory, or the state file's side directory beside it), fsync, rename. A file replaced keeps its mode; a new one
 * gets 0644 narrowed by the umask. The temp file is removed on failure, and by a clean exit in the middle of the write.
 * @param tmpDir where the temp file is made. @default dirname(path)
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  target: FileTarget = STATE_FILE,
  tmpDir: string = dirname(path),
): Promise<void> {
  const tmp = join(tmpDir, `${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  removeOnExit(tmp);
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
  } finally {
    keepOnExit(tmp);
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
