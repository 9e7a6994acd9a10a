/**
 * The push of the embedded file store: watches on the state file's directory and on its side directory. Nothing needs
 * publishing: every process's watch sees the atomic renames of the others.
 */
import { basename } from 'node:path';
import { ANY_SCOPE, type ChangeFeed, type StateChange } from '../../core/change-feed.js';
import { watchStateDir } from './file-side.js';

/**
 * Change feed of the file store: a watch on the state file's directory (the atomic rename replaces the file, so the
 * directory is what reports it) that signals "read again" when the state file changes, e.g. by the CLI or another
 * process, and a watch on the side directory that signals "read the scopes again" when a scope file (named
 * `<scopePrefix>…json`) changes there. Nothing needs publishing: other processes' watches see the rename. When the
 * directory cannot be watched, the service falls back to reading once per `cacheTtlMs`.
 */
export function createFileChangeFeed(filePath: string, scopePrefix: string): ChangeFeed {
  const listeners = new Set<(change: StateChange) => void>();
  const name = basename(filePath);
  const notify = (change: StateChange) => {
    for (const listener of listeners) listener(change);
  };
  const scopes = () => notify({ scope: ANY_SCOPE });
  let stop: (() => void) | undefined;
  const start = () => {
    stop ??= watchStateDir(filePath, {
      state: (changed) => {
        if (changed === null || changed === name) notify({});
      },
      side: (changed) => {
        if (changed === null || (changed.startsWith(scopePrefix) && changed.endsWith('.json'))) scopes();
      },
      sideWatched: (appeared) => {
        if (appeared) scopes(); // scope files written before the watch began
      },
    });
  };
  const end = () => {
    stop?.();
    stop = undefined;
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) end();
      };
    },
    publish: async () => undefined,
    close: async () => {
      listeners.clear();
      end();
    },
  };
}
