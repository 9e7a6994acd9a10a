/**
 * Claims of the embedded file store: the exclusive creation (`O_EXCL`) of a file `claim.<sha-256 of the name>` in the
 * side directory (`<state file>.d/`), atomic for every process on the host. A claim holds until a later claim sweeps the
 * files whose time to live has passed (claim names are unique per event, so a late instance never sends it again).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ClaimStore } from '../../core/claims.js';
import { makeSideDir, sideDirOf, sidePathOf } from './file-side.js';
import { errno } from './file-write.js';

/** The prefix of every claim file in the side directory. */
const CLAIM_PREFIX = 'claim.';

/** Creates `path` exclusively: true when this call made it. */
async function create(path: string, until: number): Promise<boolean> {
  try {
    await fs.writeFile(path, `${until}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

/** The time a claim file holds until (its content), or 0 when it is gone or unreadable. */
async function heldUntil(path: string): Promise<number> {
  const text = await fs.readFile(path, 'utf8').catch(() => '0');
  return Number(text.trim()) || 0;
}

/** Removes claim files of `statePath` that ended long ago. */
async function sweep(statePath: string): Promise<void> {
  const dir = sideDirOf(statePath);
  const prefix = CLAIM_PREFIX;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  for (const name of names.filter((n) => n.startsWith(prefix))) {
    const path = join(dir, name);
    if ((await heldUntil(path)) < now) await fs.unlink(path).catch(() => undefined);
  }
}

/** The {@link ClaimStore} of the state file `statePath`. */
export function createFileClaims(statePath: string): ClaimStore {
  return {
    async claim(name, ttlMs) {
      const hash = createHash('sha256').update(name).digest('hex').slice(0, 32);
      const path = sidePathOf(statePath, `${CLAIM_PREFIX}${hash}`);
      const until = Date.now() + ttlMs;
      await makeSideDir(statePath);
      if (!(await create(path, until))) return false;
      void sweep(statePath).catch(() => undefined);
      return true;
    },
  };
}
