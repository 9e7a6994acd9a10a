import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import {
  createPostgresStore,
  createRedisStore,
  MaintenanceService,
  type MaintenanceServiceOptions,
} from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { type FleetApp, startFleetApp } from './helpers/fleet.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { sleep, until } from './helpers/wait.js';

/** Requests to `app` for `ms`: every status seen, and the slowest answer. */
async function load(app: FleetApp, ms: number) {
  const statuses = new Set<number>();
  let slowest = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    statuses.add(await app.get().catch(() => 0));
    slowest = Math.max(slowest, performance.now() - t0);
  }
  return { statuses: [...statuses], slowest };
}

describe('the fleet when the store fails: heartbeats follow the store failure policy, requests never notice', function () {
  this.timeout(60_000);
  const apps: FleetApp[] = [];
  const admins: MaintenanceService[] = [];
  // Closed even when a test fails midway: an open client reconnecting to a stopped server would keep mocha alive.
  afterEach(async () =>
    Promise.all([...apps.splice(0).map((a) => a.stop()), ...admins.splice(0).map((s) => s.close())]),
  );
  const adminOf = (store: MaintenanceServiceOptions['store']) => {
    const s = new MaintenanceService({ store, logger: captureLogger() });
    admins.push(s);
    return s;
  };

  it('keeps serving while Redis is stopped, says so once, and reports again once it is back', async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    const redis: TestRedis = await startRedis();
    try {
      const app = await startFleetApp({ MAINTENANCE_MODE_REDIS_URL: redis.url }, 200);
      apps.push(app);
      const admin = adminOf(createRedisStore(redis.url));
      await until(async () => (await admin.fleet()).instances.length === 1, 5000);
      await redis.stop();
      const during = await load(app, 1500);
      expect(during.statuses).to.deep.equal([200]);
      expect(during.slowest).to.be.below(500 + 200); // storeTimeoutMs at most, never a hang
      expect(app.stderr().match(/cannot report this instance's presence/g)).to.have.length(1);
      await redis.restart();
      await until(() => app.stderr().includes('presence reports again'), 5000);
      await until(async () => (await admin.fleet().catch(() => ({ instances: [] }))).instances.length === 1, 5000);
    } finally {
      await redis.dispose();
    }
  });

  it('catches up within one heartbeat when a change message is lost (Redis pub/sub delivers at most once)', async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    const redis: TestRedis = await startRedis();
    const raw = createClient({ url: redis.url });
    raw.on('error', () => undefined);
    try {
      const app = await startFleetApp({ MAINTENANCE_MODE_REDIS_URL: redis.url }, 200);
      apps.push(app);
      const admin = adminOf(createRedisStore(redis.url));
      await admin.enable();
      await admin.waitForFleet({ timeoutMs: 5000 });
      expect(await app.get()).to.equal(503);
      // The switch off lands, but its message never arrives: the state and revision change without a PUBLISH.
      await raw.connect();
      const key = 'maintenance-mode::maintenance_mode_state';
      const stored = JSON.parse((await raw.get(key)) as string);
      const revision = await raw.incr('maintenance-mode::maintenance_mode_revision');
      stored.value = { ...stored.value, enabled: false, revision };
      await raw.set(key, JSON.stringify(stored));
      const fleet = await admin.waitForFleet({ timeoutMs: 3000 }); // before: never applied, ERR_MAINTENANCE_FLEET_TIMEOUT
      expect(fleet.revision).to.equal(revision);
      expect(fleet.instances.find((i) => i.pid === app.pid)).to.include({ applied: revision });
      expect(await app.get()).to.equal(200);
    } finally {
      await raw.quit().catch(() => undefined);
      await redis.dispose();
    }
  });

  it('keeps serving while PostgreSQL is stalled (SIGSTOP), and reports again after SIGCONT', async function () {
    requireBinary(this, postgresBin('initdb') ?? 'initdb', 'postgresql');
    const pg: TestPostgres = await startPostgres();
    try {
      const app = await startFleetApp({ MAINTENANCE_MODE_POSTGRES_URL: pg.url }, 200);
      apps.push(app);
      const admin = adminOf(createPostgresStore(pg.url));
      await until(async () => (await admin.fleet()).instances.length === 1, 5000);
      pg.pause();
      const during = await load(app, 2000);
      pg.resume();
      expect(during.statuses).to.deep.equal([200]);
      expect(during.slowest).to.be.below(1000 + 300);
      await until(() => app.stderr().includes('presence reports again'), 10_000);
      expect(app.stderr().match(/cannot report this instance's presence/g)).to.have.length(1);
    } finally {
      pg.resume();
      await pg.dispose();
    }
  });
});

describe('maintenance-mode run as a process: signals and a runner that dies', function () {
  this.timeout(60_000);
  let dir: string;
  let env: Record<string, string>;
  const apps: FleetApp[] = [];
  const cli = join(__dirname, '..', 'src', 'cli', 'bin.js');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-run-proc-'));
    env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const runner = (args: string[]) => {
    const child = spawn(process.execPath, [cli, 'run', ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );
    return { child, exit, out: () => out };
  };

  it('forwards SIGTERM to the command, exits with its code and puts the state back', async () => {
    const app = await startFleetApp(env, 300);
    apps.push(app);
    const r = runner(['--', 'sh', '-c', 'trap "exit 42" TERM; echo started; while true; do sleep 0.1; done']);
    await until(() => /^started$/m.test(r.out()), 5000); // the command's line, not the runner's echo of it
    expect(await app.get()).to.equal(503);
    r.child.kill('SIGTERM');
    expect(await r.exit, r.out()).to.deep.equal({ code: 42, signal: null });
    expect(await app.get()).to.equal(200);
  });

  it('renews the lease while the command runs, and leaves the site down for at most the lease when killed with -9', async () => {
    const app = await startFleetApp(env, 300);
    apps.push(app);
    const r = runner(['--lease', '1s', '--', 'sh', '-c', 'echo started; sleep 30']);
    await until(() => /^started$/m.test(r.out()), 5000); // the command's line, not the runner's echo of it
    await sleep(1600); // longer than the lease: renewed meanwhile
    expect(await app.get()).to.equal(503);
    r.child.kill('SIGKILL');
    const t0 = performance.now();
    await until(async () => (await app.get()) === 200, 3000); // the lease lapses: back without anyone
    expect(performance.now() - t0).to.be.below(1000 + 500);
  });
});
