/**
 * Every process the tests start is registered here, so that none outlives the run: a failed or timed-out test, an
 * aborted run (Ctrl+C, SIGTERM) or an uncaught error leaves nothing behind to hold mocha open. The root hook
 * (test/helpers/root-hooks.ts, loaded by .mocharc.json) ends what is left after the last test: SIGTERM, then SIGKILL
 * after a short grace; the process's `exit` and signal handlers SIGKILL whatever is still registered.
 *
 * A child spawned `detached` leads its own process group, and the whole group is ended (what a shell started too,
 * even after the shell exited). A running child's descendants (a PostgreSQL postmaster's backends, nginx's workers)
 * are ended with it. Stopped processes (SIGSTOP) get SIGCONT first. A run killed with -9 cannot end anything: its
 * children are orphaned (`maintenance-mode run` itself ends its command then; see src/cli/run-watchdog.ts).
 */
import {
  type ChildProcess,
  type SpawnOptions,
  type SpawnSyncOptions,
  type SpawnSyncOptionsWithStringEncoding,
  type SpawnSyncReturns,
  spawn,
  spawnSync,
} from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Entry {
  readonly child: ChildProcess;
  readonly label: string;
  /** Spawned detached: the leader of its own process group, ended as a group. */
  readonly group: boolean;
}

const entries = new Set<Entry>();

/** How long the root hook gives children to end on SIGTERM before SIGKILL. */
export const GRACE_MS = 2000;

/** Sends `signal` to `pid` (to its group when `group`); false when there is no such process (or group) any more. */
function signal(pid: number, sig: NodeJS.Signals | 0, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** The pids of `pid`'s children, read from /proc (empty where there is no /proc). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of names) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** `pid`'s descendants, children first. */
function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

const running = (e: Entry) => e.child.exitCode === null && e.child.signalCode === null;

/** Whether anything of `e` may still run: the child itself, or (detached) a member of its group. */
function alive(e: Entry): boolean {
  if (e.child.pid === undefined) return false;
  return running(e) || (e.group && signal(e.child.pid, 0, true));
}

/** Sends `sig` (after SIGCONT, so a stopped process gets it) to the child, its descendants and its group. */
function signalEntry(e: Entry, sig: NodeJS.Signals): void {
  const pid = e.child.pid;
  if (pid === undefined) return;
  const pids = running(e) ? [pid, ...descendantsOf(pid)] : [];
  for (const p of pids) signal(p, 'SIGCONT');
  if (e.group) signal(pid, 'SIGCONT', true);
  for (const p of pids) signal(p, sig);
  if (e.group) signal(pid, sig, true);
}

/** Drops entries with nothing left running (a finished child; a group whose last member ended). */
function prune(): void {
  for (const e of entries) if (!alive(e)) entries.delete(e);
}

/**
 * Registers `child` (spawned elsewhere) so that it is ended on every path; returns it. Pass `group: true` when it was
 * spawned `detached` (the leader of its own process group).
 */
export function track<T extends ChildProcess>(child: T, label: string, group = false): T {
  prune();
  const entry: Entry = { child, label, group };
  entries.add(entry);
  child.once('exit', () => {
    if (!group) entries.delete(entry);
  });
  return child;
}

/**
 * `spawn()` whose child is registered: ended by the root hook, the exit and the signal handlers if the test does not
 * end it. With `detached: true` its whole process group is ended (use it for shells and commands that start others).
 */
export function spawnChild(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, options);
  return track(child, [command, ...args].join(' ').slice(0, 200), options.detached === true);
}

/**
 * `spawnSync()` that cannot block the run for ever: SIGKILL after `timeout` (@default 60000 ms). It blocks the event
 * loop, so mocha's own timeout cannot end it: keep `timeout` below the test's.
 */
export function runSync(
  command: string,
  args: readonly string[],
  options: SpawnSyncOptionsWithStringEncoding,
): SpawnSyncReturns<string>;
export function runSync(command: string, args: readonly string[], options?: SpawnSyncOptions): SpawnSyncReturns<Buffer>;
export function runSync(
  command: string,
  args: readonly string[],
  options: SpawnSyncOptions = {},
): SpawnSyncReturns<string | Buffer> {
  return spawnSync(command, args, { timeout: 60_000, killSignal: 'SIGKILL', ...options });
}

/** Resolves once `child` has exited (at once if it has, or never started: a missing binary). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  });
}

/**
 * SIGKILL to `child`, what it started that is still attached to it and, when it was spawned detached, its whole process
 * group: a hung command and everything it started end now.
 */
export function killTree(child: ChildProcess): void {
  const entry = [...entries].find((e) => e.child === child) ?? { child, label: '', group: false };
  signalEntry(entry, 'SIGKILL');
}

/**
 * Ends `child`: SIGCONT (it may be stopped) and `sig`, then SIGKILL if it still runs after `graceMs`; resolves once it
 * has exited. For a clean stop that cannot hang the test.
 */
export async function endChild(child: ChildProcess, sig: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  child.kill('SIGCONT');
  child.kill(sig);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((done) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, graceMs);
  });
  await Promise.race([exited(child), late]);
  clearTimeout(timer);
  await exited(child);
}

/** The labels of registered children that are still running (or whose group still has members). */
export function runningChildren(): string[] {
  prune();
  return [...entries].map((e) => `${e.child.pid} ${e.label}`);
}

/** SIGKILL to everything registered, now (for `exit` and signal handlers, which cannot wait). */
export function killChildrenNow(): void {
  for (const e of entries) signalEntry(e, 'SIGKILL');
  entries.clear();
}

/**
 * Ends everything registered that still runs: SIGTERM (a server may shut down cleanly), SIGKILL to what is left after
 * `graceMs`. Resolves with the labels of what had to be ended.
 */
export async function killChildren(graceMs = GRACE_MS): Promise<string[]> {
  prune();
  const left = [...entries];
  if (left.length === 0) return [];
  for (const e of left) signalEntry(e, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (left.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const e of left) if (alive(e)) signalEntry(e, 'SIGKILL');
  for (const e of left) entries.delete(e);
  return left.map((e) => `${e.child.pid} ${e.label}`);
}

/** The `exit` and signal handlers are installed once per process, however many copies of this module load. */
const INSTALLED = Symbol.for('koa-maintenance-mode.test.children-handlers');
const g = globalThis as { [INSTALLED]?: true };
if (!g[INSTALLED]) {
  g[INSTALLED] = true;
  process.on('exit', killChildrenNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killChildrenNow();
      // Alone, this handler would keep the process alive: end it by the signal, as it would have ended without us.
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** What `child` has written so far, as text: `out()` its stdout, `err()` its stderr (each when it is a pipe). */
export function outputOf(child: ChildProcess): { out(): string; err(): string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return { out: () => out, err: () => err };
}

/**
 * How many modules whose path matches `pattern` a fresh Node process has loaded after running `code` in the
 * repository's root: what importing the package, or using one feature, pulls in.
 */
export function modulesLoadedBy(code: string, pattern: RegExp): number {
  const script = `${code}; console.log(Object.keys(require.cache).filter((k) => ${pattern}.test(k)).length)`;
  const r = runSync(process.execPath, ['-e', script], {
    cwd: join(__dirname, '..', '..', '..'),
    encoding: 'utf8',
    timeout: 25_000,
  });
  if (r.status !== 0) throw new Error(`node -e exited ${r.status}: ${r.stderr}`);
  return Number(r.stdout.trim());
}
