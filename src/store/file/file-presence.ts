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
  return new FilePresence(statePath);
}

/** The presence files of one state file: what its instances wrote, the records waiting for the side directory. */
class FilePresence implements PresenceStore {
  readonly lingerMs = 0; // a watch is free to make again
  private readonly dir: string;
  private readonly target = {
    what: 'the presence file',
    fix: 'make the state file’s directory writable by this process.',
  };
  private keepMs = 0;
  private readonly listeners = new Set<(report: Report) => void>();
  private stopWatch: (() => void) | undefined;
  private readonly joining: ReturnType<typeof createJoining>;
  /** Records reported while there was no side directory: written once it appears. */
  private readonly pending = new Map<string, PresenceRecord>();
  /** One write at a time, in order: a record written late (pending) never lands over a newer report. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly statePath: string) {
    this.dir = sideDirOf(statePath);
    this.joining = createJoining(statePath, () => void this.serial(() => this.flushPending()).catch(() => undefined));
  }

  report(record: PresenceRecord, keep: number): Promise<void> {
    this.keepMs = keep;
    return this.serial(async () => {
      if (!(await hasSideDir(this.statePath))) {
        this.pending.set(record.id, record); // no fleet to see yet
        this.joining.start();
        return;
      }
      this.pending.delete(record.id);
      await this.write(record);
    });
  }

  leave(id: string): Promise<void> {
    return this.serial(async () => {
      this.pending.delete(id);
      if (this.pending.size === 0) this.joining.stop();
      await fs.unlink(this.pathOf(id)).catch(() => undefined);
      keepOnExit(this.pathOf(id));
    });
  }

  async list(): Promise<PresenceRecord[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const found = await Promise.all(
      names.filter((n) => n.startsWith(PREFIX) && n.endsWith('.json')).map((n) => this.read(join(this.dir, n))),
    );
    return found.filter((r): r is PresenceRecord => r !== undefined);
  }

  async open(): Promise<void> {
    await makeSideDir(this.statePath).catch(() => undefined); // a look opens the fleet: instances write their records
    const age = await sideDirAgeMs(this.statePath);
    if (age !== undefined && age < JOIN_GRACE_MS) await new Promise((r) => setTimeout(r, JOIN_GRACE_MS - age));
  }

  subscribe(onReport: (report: Report) => void, onConnected?: () => void): () => void {
    this.listeners.add(onReport);
    // A watch sees every change from the moment it is made: connected once the side directory is watched.
    this.stopWatch ??= watchStateDir(this.statePath, {
      side: (name) => this.onSide(name),
      sideWatched: () => queueMicrotask(() => onConnected?.()),
    });
    return () => {
      this.listeners.delete(onReport);
      if (this.listeners.size === 0) {
        this.stopWatch?.();
        this.stopWatch = undefined;
      }
    };
  }

  private pathOf(id: string): string {
    return join(this.dir, `${PREFIX}${encodeURIComponent(id)}.json`);
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(record: PresenceRecord): Promise<void> {
    const path = this.pathOf(record.id);
    removeOnExit(path); // a clean exit takes it away, whether or not close() ran
    await writeFileAtomic(path, `${JSON.stringify(record)}\n`, this.target);
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0 || !(await hasSideDir(this.statePath))) return;
    this.joining.stop();
    const now = new Date().toISOString();
    const records = [...this.pending.values()];
    this.pending.clear();
    for (const record of records) await this.write({ ...record, lastSeen: now });
  }

  private async read(path: string): Promise<PresenceRecord | undefined> {
    try {
      const [text, stat] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
      const record = parseRecord(text);
      // The file's age is the host's own clock: a record that claims a later lastSeen is forgotten all the same.
      if (Date.now() - stat.mtimeMs > (this.keepMs > 0 ? this.keepMs : forgetAfterMs(record))) {
        await fs.unlink(path).catch(() => undefined); // forgotten: its process is gone
        return undefined;
      }
      return record;
    } catch {
      return undefined; // removed meanwhile
    }
  }

  private onSide(name: string | null): void {
    if (name === null || !name.startsWith(PREFIX) || !name.endsWith('.json')) return;
    let id: string;
    try {
      id = decodeURIComponent(name.slice(PREFIX.length, -'.json'.length));
    } catch {
      return; // not a name this store writes (a stray `presence.%zz.json`): never a crash in a watch callback
    }
    void this.read(join(this.dir, name)).then((record) => {
      for (const l of this.listeners) l(record ?? { id, left: true });
    });
  }
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
