import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import { createRedisStore, MaintenanceService, type MaintenanceServiceOptions } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { spawnCli } from './helpers/cli.js';
import { FLEET_APP_START_MS, type FleetApp, startFleetApp } from './helpers/fleet.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/**
 * How members serve and report while the store is gone or stalled is in the store contract suite (the presence
 * scenarios of test/store-contract.test.ts); here, what takes an app process.
 */
describe('the fleet when the store fails: heartbeats follow the store failure policy, requests never notice', function () {
  this.timeout(FLEET_APP_START_MS + 4 * PATIENCE_MS);
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
      await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
      expect(await app.get()).to.equal(503);
      // The switch off lands, but its message never arrives: the state and revision change without a PUBLISH.
      await raw.connect();
      const key = 'maintenance-mode::maintenance_mode_state';
      const stored = JSON.parse((await raw.get(key)) as string);
      const revision = await raw.incr('maintenance-mode::maintenance_mode_revision');
      stored.value = { ...stored.value, enabled: false, revision };
      await raw.set(key, JSON.stringify(stored));
      // Applied at its next heartbeat (200 ms); before the fix never: ERR_MAINTENANCE_FLEET_TIMEOUT.
      const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
      expect(fleet.revision).to.equal(revision);
      expect(fleet.instances.find((i) => i.pid === app.pid)).to.include({ applied: revision });
      expect(await app.get()).to.equal(200);
    } finally {
      await raw.quit().catch(() => undefined);
      await redis.dispose();
    }
  });
});

describe('maintenance-mode run as a process: signals and a runner that dies', function () {
  this.timeout(FLEET_APP_START_MS + 3 * PATIENCE_MS);
  let dir: string;
  let env: Record<string, string>;
  const apps: FleetApp[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-run-proc-'));
    env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const runner = (args: string[]) => {
    const child = spawnCli(['run', ...args], { ...process.env, ...env });
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
    await until(() => /^started$/m.test(r.out()), PATIENCE_MS); // the command's line, not the runner's echo of it
    expect(await app.get()).to.equal(503);
    r.child.kill('SIGTERM');
    expect(await r.exit, r.out()).to.deep.equal({ code: 42, signal: null });
    expect(await app.get()).to.equal(200);
  });

  it('renews the lease while the command runs, and leaves the site down for at most the lease when killed with -9', async () => {
    const app = await startFleetApp(env, 300);
    apps.push(app);
    // Renewed every third of the lease (700 ms): a runner slowed by a busy machine still renews in time.
    const r = runner(['--lease', '2s', '--', 'sh', '-c', 'echo started; sleep 30']);
    await until(() => /^started$/m.test(r.out()), PATIENCE_MS); // the command's line, not the runner's echo of it
    await sleep(2600); // longer than the lease: renewed meanwhile
    expect(await app.get()).to.equal(503);
    r.child.kill('SIGKILL');
    // The lease lapses: back without anyone, after the lease (2 s), not never. How soon is not a speed claim here.
    await until(async () => (await app.get()) === 200, PATIENCE_MS);
  });
});
