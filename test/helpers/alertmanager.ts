/**
 * A real Alertmanager (Debian's prometheus-alertmanager) for a test: its own config (a null receiver), storage
 * directory and free loopback port, no cluster gossip; stopped by its pid, and by the root hook if a test does not.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endChild, exited, outputOf, spawnChild } from './children.js';
import { freePort } from './redis.js';

/** The binary and its Debian package. */
export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';
export const ALERTMANAGER_PACKAGE = 'prometheus-alertmanager';

/** How long Alertmanager may take to answer after it was started (a second on an idle machine). */
const START_MS = 20_000;

/** A silence as `GET /api/v2/silences` lists it. */
export interface Silence {
  readonly id: string;
  readonly status: { readonly state: 'active' | 'pending' | 'expired' };
  readonly matchers: ReadonlyArray<{ name: string; value: string; isRegex: boolean; isEqual: boolean }>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** An Alertmanager this test started. */
export interface TestAlertmanager {
  readonly url: string;
  readonly port: number;
  /** Every silence it keeps (expired ones included). */
  silences(): Promise<Silence[]>;
  /** The silences that are not expired. */
  live(): Promise<Silence[]>;
  /** Stops it (SIGTERM to its pid); its storage stays for `restart()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage after `stop()`. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

const CONFIG = `route:
  receiver: 'null'
receivers:
  - name: 'null'
`;

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function spawnAlertmanager(dir: string, port: number): Promise<ChildProcess> {
  const child = spawnChild(
    ALERTMANAGER_BINARY,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const output = outputOf(child);
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < START_MS) {
      if (await ready(`http://127.0.0.1:${port}`)) return child;
      if (child.exitCode !== null || child.pid === undefined) {
        throw new Error(`prometheus-alertmanager exited (${child.exitCode}): ${output.err()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`prometheus-alertmanager did not answer on port ${port} within ${START_MS} ms: ${output.err()}`);
  } catch (e) {
    child.kill('SIGKILL');
    await exited(child);
    throw e;
  }
}

/** Starts a private Alertmanager on a free loopback port. */
export async function startAlertmanager(): Promise<TestAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = await spawnAlertmanager(dir, port);
  const stop = async () => {
    if (child) await endChild(child);
    child = undefined;
  };
  const silences = async () => {
    const res = await fetch(`${url}/api/v2/silences`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`GET /api/v2/silences answered ${res.status}`);
    return (await res.json()) as Silence[];
  };
  return {
    url,
    port,
    silences,
    live: async () => (await silences()).filter((s) => s.status.state !== 'expired'),
    stop,
    async restart() {
      child = await spawnAlertmanager(dir, port);
    },
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
