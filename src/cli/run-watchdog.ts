/**
 * The process between `run` and its CMD (`node run-watchdog.js CMD [ARGS…]`, started by `run` with an IPC channel).
 * CMD runs in its own process group, so a signal reaches CMD and everything it started. When the runner dies — even by
 * kill -9, which no handler sees — the channel closes, and the watchdog ends CMD's group: SIGTERM, then SIGKILL after
 * a grace. So CMD never outlives its runner (#30: a migration went on while a lapsed lease let the site back).
 * Messages: runner → watchdog `{ signal }`; watchdog → runner `{ pid }` once CMD runs, then `{ code, signal }` or
 * `{ error }`.
 */
import { spawn } from 'node:child_process';

/** How long CMD's group has to end after SIGTERM, once its runner is gone, before SIGKILL. */
const GRACE_MS = 5000;

/** Signals CMD's whole process group (CMD is its leader); false once the group is gone. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Tells the runner, while it is there; `then` runs once sent (or at once without a runner). */
function send(message: object, then?: () => void): void {
  if (process.connected && process.send) process.send(message, undefined, {}, () => then?.());
  else then?.();
}

function watch(cmd: string, args: readonly string[]): void {
  // `detached` makes CMD the leader of a new process group (and session): signals go to all of it.
  const child = spawn(cmd, args, { stdio: 'inherit', detached: true });
  let ended = false;
  let orphaned = false;
  child.once('spawn', () => send({ pid: child.pid }));
  child.once('error', (err) => {
    ended = true;
    send({ error: err.message }, () => process.exit(127));
  });
  child.once('exit', (code, signal) => {
    ended = true;
    // Orphaned: the leader ended on SIGTERM, but what it started may ignore it: stay for the SIGKILL of the group.
    if (!orphaned) send({ code, signal }, () => process.exit(0));
  });
  process.on('message', (m: { signal?: NodeJS.Signals }) => {
    if (m?.signal) signalGroup(child.pid, m.signal);
  });
  process.once('disconnect', () => {
    if (ended) return;
    orphaned = true;
    signalGroup(child.pid, 'SIGTERM');
    setTimeout(() => {
      signalGroup(child.pid, 'SIGKILL');
      process.exit(0);
    }, GRACE_MS);
  });
  // A terminal's Ctrl+C reaches the runner's whole group, this process included: the runner forwards it to CMD.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === undefined) {
  process.stderr.write('run-watchdog: no command given; it is started by `maintenance-mode run -- CMD`.\n');
  process.exitCode = 2;
} else {
  watch(cmd, args);
}
