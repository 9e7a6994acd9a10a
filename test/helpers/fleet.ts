import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** One app instance of the fleet tests, in its own process (test/fixtures/fleet-app.ts). */
export interface FleetApp {
  readonly pid: number;
  readonly base: string;
  /** Resolves with the status of GET `path` (starting it now). */
  get(path?: string): Promise<number>;
  /** SIGTERM: a graceful stop (the service closes and leaves the fleet). */
  stop(): Promise<void>;
  /** SIGKILL: the process dies without a word. */
  kill(): Promise<void>;
  readonly stderr: () => string;
}

const exited = (child: ChildProcess) =>
  new Promise<void>((done) =>
    child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done()),
  );

/** Starts an app instance on the store `env` names, reporting every `intervalMs`; resolves once it listens. */
export async function startFleetApp(env: Record<string, string>, intervalMs: number): Promise<FleetApp> {
  const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'fleet-app.js')], {
    env: { ...process.env, ...env, FLEET_INTERVAL_MS: String(intervalMs) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start: ${err}`)), 10_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const base = `http://127.0.0.1:${port}`;
  const app: FleetApp = {
    pid: child.pid as number,
    base,
    get: async (path = '/') => (await fetch(`${base}${path}`)).status,
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    stderr: () => err,
  };
  await app.get(); // the first request: it joins the fleet
  // Joining reports in the background: wait until the store lists it, so a wait that follows counts it.
  for (let i = 0; (await app.get('/ready')) !== 200; i++) {
    if (i > 200) throw new Error(`the app did not join the fleet: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return app;
}
