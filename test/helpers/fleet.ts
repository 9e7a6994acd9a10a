import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { endChild, outputOf, spawnChild } from './children.js';
import { until } from './wait.js';

/** One app instance of the fleet tests, in its own process (test/fixtures/fleet-app.ts). */
export interface FleetApp {
  readonly pid: number;
  readonly base: string;
  /** Resolves with the status of GET `path` (starting it now). */
  get(path?: string): Promise<number>;
  /**
   * GET `/slow?ms=`: `started` resolves once the request reached the app's handler (let in, now in flight), `status`
   * with its answer (0 when it got none: the app was killed).
   */
  slow(ms: number): { started: Promise<void>; status: Promise<number> };
  /** SIGTERM: a graceful stop (the service closes and leaves the fleet). */
  stop(): Promise<void>;
  /** SIGKILL: the process dies without a word. */
  kill(): Promise<void>;
  readonly stderr: () => string;
}

/**
 * How long an app may take to start and to join the fleet: a Node process loading the library takes well under a
 * second on an idle machine, and many times that on two cores busy with a benchmark. Tests that start apps say
 * `this.timeout()` of at least this much.
 */
export const FLEET_APP_START_MS = 60_000;

/** Resolves with the port once `child` prints `listening <port>`; rejects when it exits first or after `limitMs`. */
function listeningPort(child: ChildProcess, err: () => string, limitMs: number): Promise<number> {
  let out = '';
  return new Promise<number>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`the app did not start: ${why}; it printed: ${out}${err()}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${limitMs} ms`), limitMs);
    child.once('exit', (code, signal) => fail(`it exited (${signal ?? code})`));
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
}

/**
 * Starts an app instance on the store `env` names, reporting every `intervalMs`; resolves once it listens and the
 * store lists it. When it does not get there within `limitMs`, the process is killed and the promise rejects.
 */
export async function startFleetApp(
  env: Record<string, string>,
  intervalMs: number,
  limitMs = FLEET_APP_START_MS,
): Promise<FleetApp> {
  const t0 = performance.now();
  const child = spawnChild(process.execPath, [join(__dirname, '..', 'fixtures', 'fleet-app.js')], {
    env: { ...process.env, ...env, FLEET_INTERVAL_MS: String(intervalMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { out, err } = outputOf(child);
  const stop = (signal: NodeJS.Signals) => endChild(child, signal);
  const slowLines = () => out().match(/^slow \d+$/gm)?.length ?? 0;
  try {
    const base = `http://127.0.0.1:${await listeningPort(child, err, limitMs)}`;
    const app: FleetApp = {
      pid: child.pid as number,
      base,
      get: async (path = '/') => (await fetch(`${base}${path}`)).status,
      stop: () => stop('SIGTERM'),
      kill: () => stop('SIGKILL'),
      slow: (ms) => {
        const before = slowLines();
        const status = app.get(`/slow?ms=${ms}`).catch(() => 0);
        const reached = () => slowLines() > before;
        const started = Promise.race([
          until(reached, limitMs).then(() => undefined),
          status.then(async (code) => {
            await new Promise((r) => setImmediate(r)); // its `slow` line may come with the answer
            if (!reached()) throw new Error(`GET /slow was answered ${code} without reaching the app`);
          }),
        ]);
        return { started, status };
      },
      stderr: err,
    };
    await app.get(); // the first request: it joins the fleet
    // Joining reports in the background: wait until the store lists it, so a wait that follows counts it.
    const left = Math.max(1000, limitMs - (performance.now() - t0));
    await until(async () => (await app.get('/ready')) === 200, left).catch((e: Error) => {
      throw new Error(`the app did not join the fleet (${e.message}): ${err()}`);
    });
    return app;
  } catch (e) {
    await stop('SIGKILL');
    throw e;
  }
}
