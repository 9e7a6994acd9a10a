/**
 * How a plain keyv store lands a switch: in steps, in this order — the next revision (read, compared with `ifRevision`,
 * add one, write: two writers in the same instant can share one), the state (or the scope's entry), then its history entry. A failed
 * history entry after the state landed is said (`warn`), not thrown: the switch did happen. There is no push.
 */
import { type Committer, revisionConflict } from '../../core/commit.js';
import { MaintenanceError } from '../../core/errors.js';
import type { HistoryLog } from '../../core/history.js';
import type { KeyvLike } from '../../core/keyv-like.js';
import type { ScopeTable } from '../../core/scope.js';
import { REVISION_KEY, STATE_KEY } from '../store-keys.js';

/** What {@link createKeyvCommitter} writes to. */
export interface KeyvCommitTarget {
  readonly keyv: KeyvLike;
  readonly scopes: ScopeTable;
  readonly history: HistoryLog;
  /** The store, as messages name it. */
  readonly description: string;
}

/** The {@link Committer} of a plain keyv store. */
export function createKeyvCommitter({ keyv, scopes, history, description }: KeyvCommitTarget): Committer {
  const revision = async () => Number((await keyv.get(REVISION_KEY)) ?? 0);
  return {
    revision,
    async commit(change, options) {
      const current = await revision();
      // Checked in a step of its own: a write landing between this check and the state's is not seen (not atomic).
      if (change.ifRevision !== undefined && current !== change.ifRevision) {
        throw revisionConflict(change.ifRevision, current);
      }
      const next = current + 1;
      await keyv.set(REVISION_KEY, next);
      const state = { ...change.state, revision: next };
      const { scope } = change;
      const done =
        scope === undefined
          ? await keyv.set(STATE_KEY, state)
          : await scopes.set(scope, state.enabled ? state : undefined);
      if (done === false) {
        throw new MaintenanceError(
          'ERR_MAINTENANCE_STORE_WRITE',
          `Writing ${description} failed: the store reported the write as not done. The state is unchanged.`,
        );
      }
      if (change.entry === undefined) return next; // a quiet write: no history entry
      try {
        await history.append({ ...change.entry, revision: next }, options.historyLimit);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        options.warn(`koa-maintenance-mode: the change was saved but not added to the history: ${why}`);
      }
      return next;
    },
  };
}
