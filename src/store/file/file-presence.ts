/**
 * Presence on the embedded file store: one file per instance in the side directory (`<state file>.d/presence.<id>.json`,
 * written atomically), listed by reading the directory, pushed by a watch on it. Processes on one host see each other;
 * a file not rewritten for `keepMs` (in a process that only reads, such as the CLI: 20 of the intervals its record
 * names) is ignored and removed, whatever `lastSeen` it claims.
 *
 * An instance keeps a record only while the side directory exists — once maintenance was switched on this state file,
 * or someone looked at its fleet (`open()` makes the directory): before, there is no fleet anyone can see, and a
 * report writes nothing. An instance that reported meanwhile writes its record as soon as it sees the directory appear
 * (a check every 250 ms), so whoever opened the fleet
 * waits {@link JOIN_GRACE_MS} for them (`open()`). A record is removed when its service closes, and by a clean exit.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { forgetAfterMs, type PresenceRecord, type PresenceStore, presenceRecordOf } from '../../core/presence.js';
import { keepOnExit, removeOnExit } from './file-exit.js';
import { hasSideDir, makeSideDir, sideDirAgeMs, sideDirOf, watchStateDir } from './file-side.js';
import { writeFileAtomic } from './file-write.js';

/**
 * How long after the side directory is made a wait may not settle: instances that ran before write their records as
 * they see it appear (within 250 ms), and a wait must count them.
 */
export const JOIN_GRACE_MS = 1000;
/** How often an instance waiting to write its record checks for the side directory where it cannot watch for it. */
const CHECK_MS = 250;
const PREFIX = 'presence.';

type Report = PresenceRecord | { id: string; left: true };

/** The {@link PresenceStore} of the state file `statePath`. */
export function createFilePresence(statePath: string): PresenceStore {
  const dir = sideDirOf(statePath);
  const pathOf = (id: string) => join(dir, `${PREFIX}${encodeURIComponent(id)}.json`);
  const target = { what: 'the presence file', fix: 'make the state file’s directory writable by this process.' };
  let keepMs = 0;
  const listeners = new Set<(report: Report) => void>();
  let stopWatch: (() => void) | undefined;
  const joining = createJoining(statePath, () => void serial(flushPending).catch(() => undefined));
  /** Records reported while there was no side directory: written once it appears. */
  const pending = new Map<string, PresenceRecord>();

  /** One write at a time, in order: a record written late (pending) never lands over a newer report. */
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  }
  async function write(record: PresenceRecord): Promise<void> {
    const path = pathOf(record.id);
    removeOnExit(path); // a clean exit takes it away, whether or not close() ran
    await writeFileAtomic(path, `${JSON.stringify(record)}\n`, target);
  }
  async function flushPending(): Promise<void> {
    if (pending.size === 0 || !(await hasSideDir(statePath))) return;
    joining.stop();
    const now = new Date().toISOString();
    const records = [...pending.values()];
    pending.clear();
    for (const record of records) await write({ ...record, lastSeen: now });
  }

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
  const onSide = (name: string | null) => {
    if (name === null || !name.startsWith(PREFIX) || !name.endsWith('.json')) return;
    let id: string;
    try {
      id = decodeURIComponent(name.slice(PREFIX.length, -'.json'.length));
    } catch {
      return; // not a name this store writes (a stray `presence.%zz.json`): never a crash in a watch callback
    }
    void read(join(dir, name)).then((record) => {
      for (const l of listeners) l(record ?? { id, left: true });
    });
  };

  return {
    lingerMs: 0, // a watch is free to make again
    report(record, keep) {
      keepMs = keep;
      return serial(async () => {
        if (!(await hasSideDir(statePath))) {
          pending.set(record.id, record); // no fleet to see yet
          joining.start();
          return;
        }
        pending.delete(record.id);
        await write(record);
      });
    },
    leave(id) {
      return serial(async () => {
        pending.delete(id);
        if (pending.size === 0) joining.stop();
        await fs.unlink(pathOf(id)).catch(() => undefined);
        keepOnExit(pathOf(id));
      });
    },
    async list() {
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      const found = await Promise.all(
        names.filter((n) => n.startsWith(PREFIX) && n.endsWith('.json')).map((n) => read(join(dir, n))),
      );
      return found.filter((r): r is PresenceRecord => r !== undefined);
    },
    async open() {
      await makeSideDir(statePath).catch(() => undefined); // a look opens the fleet: instances write their records
      const age = await sideDirAgeMs(statePath);
      if (age !== undefined && age < JOIN_GRACE_MS) await new Promise((r) => setTimeout(r, JOIN_GRACE_MS - age));
    },
    subscribe(onReport, onConnected) {
      listeners.add(onReport);
      // A watch sees every change from the moment it is made: connected once the side directory is watched.
      stopWatch ??= watchStateDir(statePath, {
        side: onSide,
        sideWatched: () => queueMicrotask(() => onConnected?.()),
      });
      return () => {
        listeners.delete(onReport);
        if (listeners.size === 0) {
          stopWatch?.();
          stopWatch = undefined;
        }
      };
    },
  };
}

/**
 * How an instance waiting for the side directory learns that it appeared: `appeared` is called within 250 ms of it.
 */
function createJoining(statePath: string, appeared: () => void) {
  let timer: NodeJS.Timeout | undefined;
  return {
    start() {
      if (timer) return;
      // A check, not a watch: a watch on the app's directory wakes on every file written there (logs, uploads), and
      // costs the request path about a third of bare Koa's instructions per request under load (bench:instructions).
      timer = setInterval(() => void hasSideDir(statePath).then((there) => there && appeared()), CHECK_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
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
