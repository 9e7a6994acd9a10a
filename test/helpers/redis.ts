import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endChild, exited, spawnChild } from './children.js';

/** A free TCP port on 127.0.0.1 (asked from the OS). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(200, () => finish(false));
    socket.once('error', () => finish(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (d) => finish(d.toString().startsWith('+PONG')));
  });
}

/** A redis-server this test started, on its own loopback port; stopped by pid, never anyone else's. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM to our pid); its data directory stays for restart(). */
  stop(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
  /** Starts it again on the same port and data directory after stop(). */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

/** How long redis-server may take to answer PING after it was started (milliseconds on an idle machine; within a default mocha timeout). */
const REDIS_START_MS = 8000;

async function spawnRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawnChild(
    'redis-server',
    // Append-only with fsync on every write: a restart keeps what Redis acknowledged, like a production setup.
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--dir',
      dir,
      '--loglevel',
      'warning',
    ],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, fail) =>
    child.once('error', (err) =>
      fail(new Error(`cannot start redis-server (${err.message}); install it: apt-get install redis-server`)),
    ),
  );
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < REDIS_START_MS) {
      const up = await Promise.race([ping(port), failed]);
      if (up) return child;
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) before it answered`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${port} within ${REDIS_START_MS} ms`);
  } catch (e) {
    child.kill('SIGKILL');
    await exited(child);
    throw e;
  }
}

/** Starts a private redis-server for a test suite. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kmm-redis-'));
  let child = await spawnRedis(port, dir);
  const stop = () => endChild(child);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid as number;
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      child = await spawnRedis(port, dir);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
  };
}
