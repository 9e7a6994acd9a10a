/**
 * `run [on options] -- CMD [ARGS…]`: maintenance as an operation. Switch on, wait until every instance has applied it
 * and drained, run CMD (stdio inherited, SIGINT and SIGTERM forwarded), then put back the state from before the run —
 * off, usually; also when CMD fails, unless `--keep-on-failure`. Exits with CMD's code; 75 without starting CMD when
 * the fleet does not settle (the state from before is put back); 69 when putting the state back still fails after
 * `--timeout` of tries (maintenance is still on: said plainly, with CMD's code). CMD runs under a watchdog in its own
 * process group and ends with the runner, even one killed with -9; with `--lease`, the lease is renewed while CMD runs,
 * so such a runner leaves the site down for at most the lease. History entries say `run: CMD`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join } from 'node:path';
import { MaintenanceError } from '../../core/errors.js';
import type { MaintenanceState } from '../../core/state.js';
import { FLEET_WAIT_DEFAULTS, type MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { accountName, type CliIo, EXIT } from '../io.js';
import { printLine } from '../output.js';
import { onRequest } from './toggle.js';
import { settle } from './wait.js';

/** The compiled watchdog between the runner and CMD (see run-watchdog.ts). */
const WATCHDOG = join(__dirname, '..', 'run-watchdog.js');

/** What the watchdog tells the runner: CMD's pid once it runs, then how it ended (or why it could not start). */
type WatchdogMessage = { pid: number } | { code: number | null; signal: NodeJS.Signals | null } | { error: string };

const signalCode = (signal: NodeJS.Signals | null) => 128 + (signal ? (constants.signals[signal] ?? 0) : 0);

/** How CMD ended: its exit code (128 + n when a signal ended it), and that signal. */
interface Ended {
  readonly code: number;
  readonly signal?: NodeJS.Signals;
}

/** How CMD ended, in words: "exited with 3", or "was killed by SIGTERM" (not "exited with 143"). */
const endedText = (cmd: string, e: Ended) =>
  e.signal === undefined ? `${cmd} exited with ${e.code}` : `${cmd} was killed by ${e.signal}`;

/**
 * Whether `cmd` can be started: a path to an executable file, or a name found on PATH. Checked before anything is
 * switched, so a typo never takes the site down for a moment.
 */
function findCommand(cmd: string, env: Readonly<Record<string, string | undefined>>): boolean {
  const runnable = (file: string) => {
    try {
      accessSync(file, fsConstants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return runnable(cmd);
  return (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && runnable(join(dir, cmd)));
}

/**
 * Runs the command through the watchdog, with the process's stdio (or the io's, in tests), forwarding SIGINT and
 * SIGTERM; resolves its exit code. CMD runs in its own process group and ends with the runner, whatever kills it.
 */
function runCommand(cmd: readonly string[], io: CliIo): Promise<Ended> {
  return new Promise((resolve) => {
    // Forwarding is in place before the command starts: a signal never finds this process without it.
    let watchdog: ChildProcess | undefined;
    let pid: number | undefined;
    let result: Ended | undefined;
    const forward = (signal: NodeJS.Signals) => () => {
      if (watchdog?.connected) watchdog.send({ signal });
    };
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    let pending = 2; // the watchdog's exit, and its channel closed (every message read)
    const settle = () => {
      if (--pending > 0) return;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(result ?? { code: lostWatchdog(cmd, io, pid) });
    };
    const std = io.inheritStdio ? 'inherit' : 'pipe';
    watchdog = spawn(process.execPath, [WATCHDOG, ...cmd], { stdio: [std, std, std, 'ipc'] });
    watchdog.stdout?.on('data', (d) => io.stdout.write(String(d)));
    watchdog.stderr?.on('data', (d) => io.stderr.write(String(d)));
    watchdog.on('message', (m: WatchdogMessage) => {
      if ('pid' in m) pid = m.pid;
      else if ('error' in m) {
        io.stderr.write(`Error: cannot run ${cmd[0]}: ${m.error}\n`);
        result = { code: 127 };
      } else
        result = m.code !== null ? { code: m.code } : { code: signalCode(m.signal), signal: m.signal ?? undefined };
    });
    watchdog.once('error', (err) => {
      io.stderr.write(`Error: cannot start the watchdog of ${cmd[0]} (${WATCHDOG}): ${err.message}\n`);
      result = { code: 127 };
      pending = 1;
      settle();
    });
    watchdog.once('exit', settle);
    watchdog.once('disconnect', settle);
  });
}

/** The watchdog died before CMD ended (killed on its own): CMD must not run on unwatched. */
function lostWatchdog(cmd: readonly string[], io: CliIo, pid: number | undefined): number {
  if (pid !== undefined) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // CMD's group is gone already
    }
  }
  io.stderr.write(`Error: the watchdog of ${cmd[0]} ended before it; ${cmd[0]} was stopped.\n`);
  return EXIT.error;
}

/** Renews the lease every third of it while `running`; the first failure is said, the lease then decides. */
function keepLease(service: MaintenanceService, io: CliIo, scope: string | undefined, leaseMs: number | undefined) {
  if (leaseMs === undefined) return () => undefined;
  let warned = false;
  const timer = setInterval(
    () => {
      service.renewLease(scope).catch((err: Error) => {
        if (!warned) io.stderr.write(`Warning: the lease could not be renewed: ${err.message}\n`);
        warned = true;
      });
    },
    Math.max(250, Math.floor(leaseMs / 3)),
  );
  return () => clearInterval(timer);
}

/** One run: what it switched, and how to put it back. */
interface RunContext {
  readonly cmd: readonly string[];
  /** " for scope S", or "". */
  readonly where: string;
  readonly p: Parsed;
  readonly before: MaintenanceState | undefined;
  readonly meta: { by: string; source: string; scope: string | undefined; reason: string };
  /** The run switched on (else it changed nothing, and nothing is put back). */
  readonly switched: boolean;
  stopLease(): void;
}

/** Store failures are worth another try; anything else (a forced mode, a bad scope) is not. */
const retriable = (err: unknown) => !(err instanceof MaintenanceError) || err.code.startsWith('ERR_MAINTENANCE_STORE_');

/** Puts back the state from before the run, trying again on store failures until `--timeout`; the last failure. */
async function putBack(service: MaintenanceService, run: RunContext, io: CliIo): Promise<Error | undefined> {
  run.stopLease();
  if (!run.switched) return undefined; // the run changed nothing: what was there stays
  const timeoutMs = run.p.timeoutMs ?? FLEET_WAIT_DEFAULTS.timeoutMs;
  const deadline = performance.now() + timeoutMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    try {
      if (run.before?.enabled) await service.restore(run.before, run.meta);
      else await service.switchOff(run.meta);
      return undefined;
    } catch (err) {
      if (!retriable(err) || performance.now() + delay >= deadline) return err as Error;
      if (delay === 250) {
        const s = Math.round(timeoutMs / 1000);
        io.stderr.write(`Warning: switching off failed (${(err as Error).message}); trying again for up to ${s} s.\n`);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** How a run ends: what happened to CMD, in words (`ran`: CMD ran to its end), and the exit code for it. */
interface RunEnd {
  readonly outcome: string;
  readonly code: number;
  readonly ran?: boolean;
}

/**
 * Ends the run after `outcome` (what happened to CMD, in words): the state put back and `code`, or, when that failed
 * within --timeout, a plain message that maintenance is still on (with CMD's outcome) and `EXIT.stillOn`.
 */
async function finish(service: MaintenanceService, run: RunContext, io: CliIo, end: RunEnd) {
  const failed = await putBack(service, run, io);
  if (!failed) {
    const stream = end.ran ? io.stdout : io.stderr;
    stream.write(`${end.outcome}; maintenance mode${run.where} is back as it was.\n`);
    return end.code;
  }
  const off = `maintenance-mode ${run.before?.enabled ? 'on' : 'off'}${run.p.scope ? ` --scope ${run.p.scope}` : ''}`;
  const lease = run.p.leaseMs ? ` Its lease ends it by itself within ${run.p.leaseMs / 1000} s.` : '';
  io.stderr.write(
    `Error: ${end.outcome}, but maintenance mode${run.where} is STILL ON: putting it back failed (${failed.message}).` +
      ` Run "${off}" once the store answers.${lease}\n`,
  );
  return EXIT.stillOn;
}

/** Switches on as `run` does; the run's context. */
async function switchOn(p: Parsed, service: MaintenanceService, io: CliIo, before: MaintenanceState | undefined) {
  const cmd = p.cmd as readonly string[];
  const reason = `run: ${cmd.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;
  const meta = { by: `cli:${accountName(io)}`, source: 'cli', scope: p.scope, reason };
  const done = await service.switchOn({ ...onRequest(p, new Date()).request, ...meta });
  const where = p.scope ? ` for scope ${p.scope}` : '';
  printLine(io, `Maintenance mode${where} is on (${reason}); waiting for the fleet…`);
  const stopLease = keepLease(service, io, p.scope, p.leaseMs);
  return { cmd, where, p, before, meta, switched: done.changed, stopLease };
}

/** Waits for the fleet; a Ctrl+C or SIGTERM meanwhile puts the state back before the process ends. */
async function waitForFleet(service: MaintenanceService, run: RunContext, io: CliIo): Promise<number> {
  const interrupt = (signal: NodeJS.Signals) => () => {
    const code = 128 + (constants.signals[signal] ?? 0);
    const end = { outcome: `Interrupted (${signal}) before ${run.cmd[0]} started`, code };
    void finish(service, run, io, end).then((exitCode) => process.exit(exitCode));
  };
  const early = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, interrupt(signal)] as const);
  for (const [signal, handler] of early) process.once(signal, handler);
  try {
    return await settle(service, io, run.p.scope, run.p.timeoutMs);
  } finally {
    for (const [signal, handler] of early) process.off(signal, handler);
  }
}

/** `run`. `before` is the stored state before the run (undefined: unreadable), put back when it ends. */
export async function run(p: Parsed, service: MaintenanceService, io: CliIo, before: MaintenanceState | undefined) {
  const name = (p.cmd as readonly string[])[0] as string;
  // CMD is started with this process's environment (the watchdog's): its PATH decides.
  if (!findCommand(name, { PATH: io.env.PATH ?? process.env.PATH })) {
    const where = name.includes('/') ? 'is not an executable file' : 'is not found on PATH';
    io.stderr.write(`Error: cannot run ${name}: it ${where}. Nothing was switched.\n`);
    return EXIT.cannotRun;
  }
  const ctx = await switchOn(p, service, io, before);
  const cmd = ctx.cmd[0];
  let settled: number;
  try {
    settled = await waitForFleet(service, ctx, io);
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return finish(service, ctx, io, { outcome: `${cmd} was not started`, code: EXIT.error });
  }
  if (settled !== EXIT.ok) {
    return finish(service, ctx, io, {
      outcome: `${cmd} was not started (the fleet did not settle)`,
      code: EXIT.notStarted,
    });
  }
  const ended = await runCommand(ctx.cmd, io);
  if (ended.code !== 0 && p['keep-on-failure']) {
    ctx.stopLease();
    io.stderr.write(`${endedText(cmd, ended)}; maintenance mode${ctx.where} stays on (--keep-on-failure).\n`);
    return ended.code;
  }
  return finish(service, ctx, io, { outcome: endedText(cmd, ended), code: ended.code, ran: true });
}
