import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { childrenOf, runSync, spawnChild } from './children.js';
import { freePort } from './redis.js';
import { hasBinary } from './system.js';

/** Debian's PostgreSQL binaries: on PATH, or in /usr/lib/postgresql/<version>/bin (where the package puts them). */
export function postgresBin(name: 'initdb' | 'postgres'): string | undefined {
  if (hasBinary(name)) return name;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  for (const version of readdirSync(root).sort().reverse()) {
    const path = join(root, version, 'bin', name);
    if (hasBinary(path)) return path;
  }
  return undefined;
}

/** A PostgreSQL cluster this test started in a temp dir on its own loopback port; stopped by pid. */
export interface TestPostgres {
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid. */
  readonly pid: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend of this cluster: connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  dispose(): Promise<void>;
}

const asRoot = userInfo().uid === 0;

/**
 * Runs a PostgreSQL binary as the `postgres` OS user when the tests run as root (PostgreSQL refuses root). `setpriv`
 * changes user and execs in place, so the process we spawn is the postmaster itself: ours to signal and to reap
 * (runuser would stay in between, stop itself when the server is stopped, and leave it a zombie).
 */
function command(bin: string, args: string[]): [string, string[]] {
  const setpriv = hasBinary('setpriv') ? 'setpriv' : '/usr/bin/setpriv'; // util-linux
  return asRoot ? [setpriv, ['--reuid=postgres', '--regid=postgres', '--init-groups', bin, ...args]] : [bin, args];
}

/** uid and gid of the `postgres` OS user (created by Debian's postgresql package), from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres OS user to run PostgreSQL as (apt-get install postgresql creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(200, () => finish(false));
    socket.once('error', () => finish(false));
    socket.connect(port, '127.0.0.1', () => finish(true));
  });
}

/** Sends `signal` to each pid that still exists (a backend may end between listing and signalling). */
function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      // gone already
    }
  }
}

/** How long initdb, a start and a stop may each take (seconds on an idle machine). */
const POSTGRES_STEP_MS = 60_000;

/**
 * Starts a private cluster (initdb, then postgres on a free port, trust auth on loopback, socket in the data dir),
 * taking `maxConnections` clients (a benchmark of hundreds of instances needs more than the tests).
 */
export async function startPostgres(maxConnections = 300): Promise<TestPostgres> {
  const initdb = postgresBin('initdb');
  const postgres = postgresBin('postgres');
  if (!initdb || !postgres) throw new Error('PostgreSQL is not installed; apt-get install postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'kmm-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    chmodSync(dir, 0o755);
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const [cmd, args] = command(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const init = runSync(cmd, args, { encoding: 'utf8', timeout: POSTGRES_STEP_MS });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.error?.message ?? init.stderr}`);
  const port = await freePort();
  const launch = async () => {
    const [c, a] = command(postgres, [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      `max_connections=${maxConnections}`,
    ]);
    // The postmaster (and, through it, its backends) is ended after the run if a test does not stop it.
    const child = spawnChild(c, a, { stdio: 'ignore' });
    child.unref();
    const t0 = performance.now();
    while (performance.now() - t0 < POSTGRES_STEP_MS && child.exitCode === null && child.signalCode === null) {
      if (ready() && (await answers(port))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const how = child.exitCode ?? child.signalCode;
    if (child.pid !== undefined) signal([child.pid, ...childrenOf(child.pid)], 'SIGKILL');
    throw new Error(
      how === null
        ? `postgres did not get ready on port ${port} within ${POSTGRES_STEP_MS} ms`
        : `postgres exited (${how}) before it was ready on port ${port}`,
    );
  };
  /**
   * The postmaster says it accepts connections: the status line of its pid file reads `ready` (a port that answers
   * may still refuse with "the database system is starting up").
   */
  const ready = () => {
    try {
      return readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready';
    } catch {
      return false; // not written yet
    }
  };
  /** The postmaster's pid, from its own pid file. */
  const pid = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  /** Waits until `p` is gone; false after `limitMs`. */
  const exited = async (p: number, limitMs: number) => {
    const t0 = performance.now();
    while (performance.now() - t0 < limitMs) {
      try {
        process.kill(p, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  await launch();
  const stop = async () => {
    if (!existsSync(join(data, 'postmaster.pid'))) return;
    const p = pid();
    signal([p, ...childrenOf(p)], 'SIGCONT');
    signal([p], 'SIGINT'); // fast shutdown
    if (await exited(p, POSTGRES_STEP_MS)) return;
    signal([p, ...childrenOf(p)], 'SIGKILL'); // it would not stop: do not leave it running
    await exited(p, 5000);
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get pid() {
      return pid();
    },
    stop,
    restart: launch,
    pause() {
      const p = pid();
      signal([p, ...childrenOf(p)], 'SIGSTOP');
    },
    resume() {
      const p = pid();
      signal([p, ...childrenOf(p)], 'SIGCONT');
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
