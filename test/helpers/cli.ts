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
