import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { type CliIo, main } from '../../src/index.js';
import { spawnChild } from './children.js';

/** Runs the CLI's `main()` in `dir` with `env`, capturing stdout and stderr. */
export function cliRunner(dir: string, env: Record<string, string> = { USER: 'ops' }) {
  return async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env,
      cwd: dir,
    };
    const code = await main(argv, io);
    return { code, out: out.join(''), err: err.join('') };
  };
}

/** The built CLI's entry point (build/src/cli/bin.js). */
export const CLI_BIN = join(__dirname, '..', '..', 'src', 'cli', 'bin.js');

const running = new Set<ChildProcess>();

/**
 * Spawns the built CLI with `env` as its whole environment (stdio piped), registered twice: with the CLI processes
 * {@link killCliProcesses} ends, and with every child of the run (test/helpers/children.ts).
 */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { readonly cwd?: string; readonly stdio?: 'pipe' | ['ignore', 'pipe', 'pipe'] } = {},
) {
  const child = spawnChild(process.execPath, [CLI_BIN, ...args], { env, stdio: 'pipe', ...options });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child as ChildProcess & { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream };
}

/** Kills (-9) every CLI process of this file's helpers and of test/helpers/exits.ts still running (a suite's `after`). */
export function killCliProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Runs the built CLI as its own process (whatever keeps a process alive counts) and times it until it exits. A process
 * still running after `limitMs` is killed and the promise rejects.
 */
export function cliProcess(args: string[], env: Record<string, string>, limitMs = 60_000) {
  const t0 = performance.now();
  const child = spawnCli(args, { ...process.env, ...env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise<{ code: number | null; ms: number; out: string; err: string }>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`maintenance-mode ${args.join(' ')} did not exit within ${limitMs} ms: ${out}${err}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, ms: performance.now() - t0, out, err });
    });
  });
}

/**
 * Runs the built CLI as its own process, as a terminal user meets it, with the raw bytes it prints. The process is
 * killed when it has not exited within `limitMs` (the promise then rejects); {@link killCliProcesses} kills any left.
 */
export function cliBytes(args: string[], env: Record<string, string>, limitMs = 20_000) {
  const child = spawnCli(args, { ...process.env, ...env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  return new Promise<{ code: number | null; out: string; err: string }>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`maintenance-mode ${args.join(' ')} did not exit within ${limitMs} ms`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
  });
}
