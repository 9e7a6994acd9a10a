/**
 * A switch as a store lands it: the new state (global or of a scope), its history entry and the change message,
 * together. Stores that can do so atomically (a Redis script, one PostgreSQL statement) offer a {@link Committer}, so a
 * write that times out on the client either lands whole later, and is pushed then, or not at all. Pure (a port).
 */
import { MaintenanceError } from './errors.js';
import type { HistoryEntry } from './history.js';
import type { MaintenanceState } from './state.js';

/** One change: what is written, and the history entry that records it. */
export interface Commit {
  /** The scope switched; undefined for the global state. */
  readonly scope?: string;
  /** The new state; a disabled scoped state removes the scope's entry. */
  readonly state: MaintenanceState;
  /** The history entry; absent for a quiet write (a lease renewed), which adds none. */
  readonly entry?: HistoryEntry;
  /**
   * Land only if the store's revision is still this one (nothing was written since the writer read what it decided
   * on), else reject with {@link revisionConflict} and change nothing: how `autoTrip()` renews and ends only its own
   * state. @default undefined (land whatever was written meanwhile)
   */
  readonly ifRevision?: number;
}

/** How a {@link Committer} lands a change. */
export interface CommitOptions {
  /** How many history entries the store keeps: older ones are dropped with this write. */
  readonly historyLimit: number;
  /**
   * Told when the change landed but a later step of it did not (a store that lands in steps: the history entry or the
   * push failed). The change itself counts as done; the message is for the logs.
   */
  readonly warn: (message: string) => void;
}

/**
 * Lands a {@link Commit} (state, history entry trimmed to `historyLimit`, change message) and assigns it the store's
 * next revision (written into the state and the entry, sent with the change message): in one atomic step where the
 * store can (Redis, PostgreSQL, the file store's lock), else in steps (plain keyv).
 */
export interface Committer {
  /**
   * Resolves with the revision the change was given. Rejects when the change was not done — with
   * {@link revisionConflict} when `change.ifRevision` is set and the store's revision is another (checked in the same
   * atomic step where the store has one); a change that landed resolves, even when its history entry or push failed
   * (said through `options.warn`).
   */
  commit(change: Commit, options: CommitOptions): Promise<number>;
  /** The store's current revision (0 before the first write). */
  revision(): Promise<number>;
}

/**
 * The rejection of a commit whose `ifRevision` is no longer the store's revision (`found`, when the store says it):
 * `ERR_MAINTENANCE_STORE_CONFLICT`, nothing written.
 */
export function revisionConflict(expected: number, found?: number): MaintenanceError {
  const now = found === undefined ? '' : ` (it is ${found})`;
  return new MaintenanceError(
    'ERR_MAINTENANCE_STORE_CONFLICT',
    `The store was written after revision ${expected}${now}, which this change was decided on; nothing was written. Read the state again and decide again.`,
  );
}
