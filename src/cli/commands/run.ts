/**
 * `run [on options] -- CMD [ARGS…]`: maintenance as an operation. Switch on, wait until every instance has applied it
 * and drained, run CMD (stdio inherited, SIGINT and SIGTERM forwarded), then put back the state from before the run —
 * off, usually; also when CMD fails, unless `--keep-on-failure`. Exits with CMD's code, or 3 without starting CMD when
 * the fleet does not settle (the state from before is put back). With `--lease`, the lease is renewed while CMD runs,
 * so a runner killed with -9 leaves the site down for at most the lease. History entries say `run: CMD`.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { MaintenanceState } from '../../core/state.js';
import { planOn } from '../../core/switch-on.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { accountName, type CliIo, EXIT } from '../io.js';
import { printLine } from '../output.js';
import { onRequest } from './toggle.js';
import { settle } from './wait.js';

/** Runs the command with the process's stdio (or the io's, in tests), forwarding signals; resolves its exit code. */
function runCommand(cmd: readonly string[], io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    // Forwarding is in place before the command starts: a signal never finds this process without it.
    let child: ReturnType<typeof spawn> | undefined;
    const forward = (signal: NodeJS.Signals) => () => child?.kill(signal);
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = (code: number) => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(code);
    };
    child = spawn(cmd[0], cmd.slice(1), { stdio: io.inheritStdio ? 'inherit' : 'pipe' });
    child.stdout?.on('data', (d) => io.stdout.write(String(d)));
    child.stderr?.on('data', (d) => io.stderr.write(String(d)));
    child.once('error', (err) => {
      io.stderr.write(`Error: cannot run ${cmd[0]}: ${err.message}\n`);
      done(127);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
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

/** `run`. `before` is the stored state before the run (undefined: unreadable), put back when it ends. */
export async function run(p: Parsed, service: MaintenanceService, io: CliIo, before: MaintenanceState | undefined) {
  const cmd = p.cmd as readonly string[];
  const reason = `run: ${cmd.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;
  const by = `cli:${accountName(io)}`;
  const meta = { by, source: 'cli', scope: p.scope, reason };
  const now = new Date();
  const plan = planOn(before, onRequest(p, now).request, now);
  if (plan.enable) await service.enable({ ...plan.enable, ...meta });
  const where = p.scope ? ` for scope ${p.scope}` : '';
  printLine(io, `Maintenance mode${where} is on (${reason}); waiting for the fleet…`);
  const stopLease = keepLease(service, io, p.scope, p.leaseMs);
  const putBack = async () => {
    stopLease();
    if (!plan.enable) return; // the run changed nothing: what was there stays
    if (before?.enabled) await service.restore(before, meta);
    else await service.disable(meta);
  };
  // Interrupted while waiting (Ctrl+C, a deploy's SIGTERM): the state goes back before the process ends.
  const interrupt = (signal: NodeJS.Signals) => () => {
    void putBack().finally(() => process.exit(128 + (constants.signals[signal] ?? 0)));
  };
  const early = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, interrupt(signal)] as const);
  for (const [signal, handler] of early) process.once(signal, handler);
  const settled = await settle(service, io, p.scope, p.timeoutMs).finally(() => {
    for (const [signal, handler] of early) process.off(signal, handler);
  });
  if (settled !== EXIT.ok) {
    await putBack();
    io.stderr.write(`${cmd[0]} was not started; maintenance mode${where} is back as it was.\n`);
    return EXIT.fleet;
  }
  const code = await runCommand(cmd, io);
  if (code !== 0 && p['keep-on-failure']) {
    stopLease();
    io.stderr.write(`${cmd[0]} exited with ${code}; maintenance mode${where} stays on (--keep-on-failure).\n`);
    return code;
  }
  await putBack();
  io.stdout.write(`${cmd[0]} exited with ${code}; maintenance mode${where} is back as it was.\n`);
  return code;
}
