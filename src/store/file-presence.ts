/**
 * Presence on the embedded file store: one file per instance beside the state file
 * (`<state file>.presence.<id>.json`, written atomically), listed by reading the directory, pushed by a watch on it.
 * Processes on one host see each other; a file not rewritten for `keepMs` (in a process that only reads, such as the
 * CLI: 20 of the intervals its record names) is ignored and removed, whatever `lastSeen` it claims.
 */
import { type FSWatcher, promises as fs, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { forgetAfterMs, type PresenceRecord, type PresenceStore, presenceRecordOf } from '../core/presence.js';
import { writeFileAtomic } from './file-store.js';

/** The {@link PresenceStore} of the state file `statePath`. */
export function createFilePresence(statePath: string): PresenceStore {
  const dir = dirname(statePath);
  const prefix = `${basename(statePath)}.presence.`;
  const pathOf = (id: string) => join(dir, `${prefix}${encodeURIComponent(id)}.json`);
  const target = { what: 'the presence file', fix: 'make the state file’s directory writable by this process.' };
  let keepMs = 0;
  const listeners = new Set<(report: PresenceRecord | { id: string; left: true }) => void>();
  let watcher: FSWatcher | undefined;

  async function read(path: string): Promise<PresenceRecord | undefined> {
    try {
      const [text, stat] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
      const record = parseRecord(text);
      // The file's age is the host's own clock: a record that claims a later lastSeen is forgotten all the same.
      if (Date.now() - stat.mtimeMs > (keepMs > 0 ? keepMs : forgetAfterMs(record))) {
        await fs.unlink(path).catch(() => undefined); // forgotten: its process is gone
        return undefined;
      }
      return record;
    } catch {
      return undefined; // removed meanwhile
    }
  }

  return {
    lingerMs: 0, // a watch is free to make again
    async report(record, keep) {
      keepMs = keep;
      await writeFileAtomic(pathOf(record.id), `${JSON.stringify(record)}\n`, target);
    },
    async leave(id) {
      await fs.unlink(pathOf(id)).catch(() => undefined);
    },
    async list() {
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      const found = await Promise.all(
        names.filter((n) => n.startsWith(prefix) && n.endsWith('.json')).map((n) => read(join(dir, n))),
      );
      return found.filter((r): r is PresenceRecord => r !== undefined);
    },
    subscribe(onReport, onConnected) {
      listeners.add(onReport);
      if (!watcher) {
        try {
          watcher = watch(dir, { persistent: false }, (_event, name) => {
            if (name === null || !name.startsWith(prefix) || !name.endsWith('.json')) return;
            const id = decodeURIComponent(name.slice(prefix.length, -'.json'.length));
            void read(join(dir, name)).then((record) => {
              for (const l of listeners) l(record ?? { id, left: true });
            });
          });
          watcher.on('error', () => undefined);
        } catch {
          watcher = undefined; // the waiter reads the list again meanwhile
        }
      }
      if (watcher && onConnected) queueMicrotask(onConnected); // a watch sees every change from the moment it is made
      return () => {
        listeners.delete(onReport);
        if (listeners.size === 0) {
          watcher?.close();
          watcher = undefined;
        }
      };
    },
  };
}

/** The record in a presence file; undefined for one that is none (written by hand, or by something else). */
function parseRecord(text: string): PresenceRecord | undefined {
  try {
    return presenceRecordOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}
