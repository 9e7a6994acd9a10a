import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type CliIo, main } from '../../src/index.js';

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

/** Runs the built CLI as its own process (whatever keeps a process alive counts) and times it until it exits. */
export function cliProcess(args: string[], env: Record<string, string>) {
  const bin = join(__dirname, '..', '..', 'src', 'cli', 'bin.js');
  const t0 = performance.now();
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise<{ code: number | null; ms: number; out: string; err: string }>((done) =>
    child.on('exit', (code) => done({ code, ms: performance.now() - t0, out, err })),
  );
}

const running = new Set<ReturnType<typeof spawn>>();

/**
 * Runs the built CLI as its own process, as a terminal user meets it, with the raw bytes it prints. The process is
 * killed when it has not exited within `limitMs` (the promise then rejects); {@link killCliProcesses} kills any left.
 */
export function cliBytes(args: string[], env: Record<string, string>, limitMs = 20_000) {
  const bin = join(__dirname, '..', '..', 'src', 'cli', 'bin.js');
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  running.add(child);
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
      running.delete(child);
      done({ code, out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Kills every CLI process {@link cliBytes} started that is still running (a suite's `after`). */
export function killCliProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
