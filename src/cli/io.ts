/** What every CLI command shares: where it reads and writes, exit codes, who runs it, and the y/N prompt. */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { LOCALE_TAG } from '../core/i18n.js';

/** Where the CLI reads and writes; `process` by default, fakes in tests. */
export interface CliIo {
  readonly stdout: {
    /** Writes output for people or scripts. */
    write(text: string): unknown;
  };
  readonly stderr: {
    /** Writes an error or a usage problem. */
    write(text: string): unknown;
  };
  readonly stdin?: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Commands that `run` starts share this process's stdio (else their output goes to `stdout`/`stderr`). @default false */
  readonly inheritStdio?: boolean;
}

/** The real process as {@link CliIo}. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    inheritStdio: true,
  };
}

/**
 * Exit codes of the CLI. `run` exits with CMD's code, so its own outcomes take codes a command is unlikely to use
 * (from BSD sysexits, which scripts and migration tools seldom return): `notStarted` 75 (EX_TEMPFAIL: nothing was done,
 * try again) when the fleet did not settle, `stillOn` 69 (EX_UNAVAILABLE: the store) when switching off failed;
 * `cannotRun` 127 (the shell's "command not found") when CMD is not there, before anything is switched.
 */
export const EXIT = Object.freeze({ ok: 0, error: 1, usage: 2, fleet: 3, stillOn: 69, notStarted: 75, cannotRun: 127 });

/** A mistake in the command line: printed with the usage, exit 2. */
export class UsageError extends Error {}

/** Who runs the CLI: `USER`/`USERNAME`, else the OS account (containers and CI often set neither variable). */
export function accountName(io: CliIo): string {
  const fromEnv = io.env.USER || io.env.USERNAME;
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    // no passwd entry for this uid (some containers): the uid still says who it was
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/** The reader's language, from `LC_ALL`, `LC_MESSAGES` or `LANG` (`de_DE.UTF-8` → `de-DE`); `en` without one. */
export function readerLanguage(io: CliIo): string {
  const raw = io.env.LC_ALL || io.env.LC_MESSAGES || io.env.LANG || '';
  const tag = raw.split('.')[0].replace('_', '-');
  return LOCALE_TAG.test(tag.split('-')[0]) ? tag : 'en'; // C, POSIX and empty give en
}

/** Asks `question` and reads one line; true for y/yes. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin) return false;
  io.stdout.write(question);
  const rl = createInterface({ input: io.stdin, terminal: false });
  const answer = await new Promise<string>((done) => {
    rl.once('line', done);
    rl.once('close', () => done(''));
  });
  rl.close();
  return /^\s*y(es)?\s*$/i.test(answer);
}
