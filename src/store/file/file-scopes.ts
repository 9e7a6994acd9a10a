/**
 * The scope table of the embedded file store: one file per enabled scope in the side directory,
 * `<state file>.d/scope.<sha-256 of the name>.json` holding `{ "scope": name, "state": … }`. The name is hashed, so it
 * never becomes part of a path (no `../`, no odd characters, any length); each scope is written atomically on its
 * own, so processes switching different scopes at once lose nothing; disabling a scope removes its file.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { MaintenanceError } from '../../core/errors.js';
import type { ScopeTable } from '../../core/scope.js';
import { type MaintenanceState, normalizeState } from '../../core/state.js';
import { makeSideDir, sideDirOf } from './file-side.js';
import { errno, writeError, writeFileAtomic } from './file-write.js';

/** The prefix of every scope file in the side directory (used by the directory watch too). */
export const SCOPE_FILE_PREFIX = 'scope.';

async function readScopeFile(path: string): Promise<{ scope: string; state: MaintenanceState } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined; // removed meanwhile: that scope was just switched off
    throw new MaintenanceError('ERR_MAINTENANCE_STORE_READ', `Cannot read the scope file ${path} (${errno(err)}).`, {
      cause: err,
    });
  }
  try {
    const doc = JSON.parse(text) as { scope?: unknown; state?: unknown };
    if (typeof doc.scope !== 'string') throw new Error('it has no "scope" name');
    return { scope: doc.scope, state: normalizeState(doc.state) };
  } catch (err) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_STATE_CORRUPT',
      `The scope file ${path} is not valid (${(err as Error).message}); delete it or switch the scope again.`,
      { cause: err },
    );
  }
}

/** The {@link ScopeTable} of the state file `statePath`. */
export function createFileScopeTable(statePath: string): ScopeTable {
  const dir = sideDirOf(statePath);
  const prefix = SCOPE_FILE_PREFIX;
  const pathOf = (scope: string) =>
    join(dir, `${prefix}${createHash('sha256').update(scope).digest('hex').slice(0, 32)}.json`);
  return {
    async get(scope) {
      return (await readScopeFile(pathOf(scope)))?.state;
    },
    async set(scope, state) {
      if (state !== undefined) {
        await makeSideDir(statePath).catch((err) => {
          throw writeError(statePath, err);
        });
        await writeFileAtomic(pathOf(scope), `${JSON.stringify({ scope, state }, null, 2)}\n`);
        return;
      }
      await fs.unlink(pathOf(scope)).catch((err) => {
        if (errno(err) !== 'ENOENT') throw err;
      });
    },
    async list() {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (err) {
        if (errno(err) === 'ENOENT') return new Map();
        throw err;
      }
      const files = names.filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
      const found = await Promise.all(files.map((n) => readScopeFile(join(dir, n))));
      const table = new Map<string, MaintenanceState>();
      for (const entry of found) if (entry) table.set(entry.scope, entry.state);
      return table;
    },
  };
}
