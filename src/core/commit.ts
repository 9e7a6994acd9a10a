/**
 * A switch as a store lands it: the new state (global or of a scope), its history entry and the change message,
 * together. Stores that can do so atomically (a Redis script, one PostgreSQL statement) offer a {@link Committer}, so a
 * write that times out on the client either lands whole later, and is pushed then, or not at all. Pure (a port).
 */
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
}

/** Property under which a store offers its atomic {@link Committer}. */
export const COMMITTER = Symbol.for('koa-maintenance-mode.committer');

/**
 * Lands a {@link Commit} (state, history entry trimmed to `historyLimit`, change message) in one atomic step, and
 * assigns it the store's next revision (written into the state and the entry, sent with the change message).
 */
export interface Committer {
  /** Resolves with the revision the change was given. */
  commit(change: Commit, historyLimit: number): Promise<number>;
  /** The store's current revision (0 before the first write). */
  revision(): Promise<number>;
}

/** The committer of `store`, if it has one. */
export function committerOf(store: unknown): Committer | undefined {
  return (store as { [COMMITTER]?: Committer } | null)?.[COMMITTER];
}
