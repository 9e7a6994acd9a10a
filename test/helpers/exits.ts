import { spawnCli } from './cli.js';

/** How a CLI process ended: by itself, or killed by the test because it was still running after it had finished. */
export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  /** Still running `graceMs` after its output said it finished (or `limitMs` after it started): killed with -9. */
  readonly lingered: boolean;
}

/** What {@link cliToExit} runs and how long it lets the process linger. */
export interface CliExitOptions {
  /** The whole environment of the process (nothing of the test's own, so no store variable leaks in). */
  readonly env: Record<string, string>;
  /** Output (stdout + stderr) that says the command has finished its work. */
  readonly finished: RegExp;
  /**
   * How long the process may run on after `finished` matched: a process that hangs runs on for ever; one on a loaded
   * machine may need seconds to close its connections. @default LINGER_MS
   */
  readonly graceMs?: number;
  /** How long the process may run at all. @default 60000 */
  readonly limitMs?: number;
}

/** How long a CLI process may run on after its output said it finished, unless the test says otherwise. */
export const LINGER_MS = 20_000;

/** The environment a CLI process gets: PATH and USER, plus `store` (one of the MAINTENANCE_MODE_* variables). */
export function cliEnv(store: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', USER: 'ops', ...store };
}

/**
 * Runs the built CLI as its own process and resolves when it exits. A process still running `graceMs` after its output
 * matched `finished` (a handle kept it alive) is killed with -9 and reported as `lingered`; so is one still running
 * after `limitMs`. Every process is killed on every path: here, or by killCliProcesses() (test/helpers/cli.ts), or
 * after the run (test/helpers/children.ts).
 */
export function cliToExit(args: readonly string[], options: CliExitOptions): Promise<CliExit> {
  const child = spawnCli(args, options.env, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let lingered = false;
  let grace: NodeJS.Timeout | undefined;
  const kill = () => {
    lingered = true;
    child.kill('SIGKILL');
  };
  const limit = setTimeout(kill, options.limitMs ?? 60_000);
  const seen = () => {
    if (!grace && options.finished.test(out + err)) grace = setTimeout(kill, options.graceMs ?? LINGER_MS);
  };
  child.stdout.on('data', (d) => {
    out += d;
    seen();
  });
  child.stderr.on('data', (d) => {
    err += d;
    seen();
  });
  return new Promise((done) => {
    child.once('exit', (code, signal) => {
      clearTimeout(limit);
      clearTimeout(grace);
      // The last output may still be in the pipes: read it, unless a process the CLI started holds them open.
      const end = () => done({ code, signal, out, err, lingered });
      const drained = setTimeout(end, 2000);
      child.once('close', () => {
        clearTimeout(drained);
        end();
      });
    });
  });
}
