import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import {
  createPostgresStore,
  createRedisStore,
  type MaintenanceError,
  MaintenanceService,
  type MaintenanceServiceOptions,
  maintenance,
} from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { outputOf, runSync } from './helpers/children.js';
import { CLI_BIN, cliProcess, spawnCli } from './helpers/cli.js';
import { FLEET_APP_START_MS, type FleetApp, startFleetApp } from './helpers/fleet.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/** The status of GET `base + path` over `agent` (kept-alive sockets: a request is written before it is answered). */
function statusOf(base: string, agent: Agent, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

/** `n` requests at once; resolves once each one's socket is back in the agent's pool, idle. */
async function warm(base: string, agent: Agent, n: number): Promise<number[]> {
  const statuses = await Promise.all(Array.from({ length: n }, () => statusOf(base, agent)));
  await until(
    () => Object.values(agent.freeSockets).reduce((k, list) => k + (list?.length ?? 0), 0) === n,
    PATIENCE_MS,
  );
  return statuses;
}

/**
 * `n` requests written to the app's kept-alive sockets now (on the next tick, where the agent hands them their
 * sockets), before whatever the caller does next; resolves with the promises of their statuses.
 */
async function queue(base: string, agent: Agent, n: number): Promise<Array<Promise<number>>> {
  const pending = Array.from({ length: n }, () => statusOf(base, agent));
  await new Promise((r) => process.nextTick(r));
  return pending;
}

/** How long the test blocks its own event loop: past the default cacheTtlMs (1 s), not past twice it. */
const BLOCK_MS = 1500;

describe('a blocked event loop: the state in memory is checked again before it is served', function () {
  this.timeout(3 * PATIENCE_MS); // a wait for the warm sockets, and a CLI process allowed 20 s
  let dir: string;
  let server: Server | undefined;
  let service: MaintenanceService | undefined;
  let agent: Agent;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-stall-'));
    agent = new Agent({ keepAlive: true, maxSockets: 5 });
  });
  afterEach(async () => {
    agent.destroy();
    if (server) await new Promise((r) => server?.close(r));
    server?.closeAllConnections();
    server = undefined;
    await service?.close();
    service = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** An app on the state file of `dir`, with maintenance on and read (503), listening on a free port. */
  async function appInMaintenance() {
    const stateFilePath = join(dir, 'state.json');
    const logger = captureLogger();
    service = new MaintenanceService({ stateFilePath, logger });
    const storeErrors: MaintenanceError[] = [];
    service.on('storeError', (err) => storeErrors.push(err));
    const app = new Koa();
    app.use(maintenance({ service }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await service.enable({ by: 'test' });
    expect(await warm(base, agent, 5)).to.deep.equal([503, 503, 503, 503, 503]);
    return { base, logger, storeErrors, env: { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: stateFilePath } };
  }

  /** Runs `maintenance-mode off` with spawnSync: this process, app included, does nothing else for BLOCK_MS. */
  function offWhileBlocked(env: Record<string, string>) {
    const t0 = performance.now();
    const off = runSync(process.execPath, [CLI_BIN, 'off'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 20_000, // a hung CLI is killed: this blocks the loop, so the test's own timeout could not fire
    });
    while (performance.now() - t0 < BLOCK_MS) {
      // still blocked: the CLI may have been quicker than BLOCK_MS
    }
    expect(off.status, off.stderr).to.equal(0);
  }

  it('answers the requests that arrived during the block with the state the CLI left, not the one in memory', async () => {
    const h = await appInMaintenance();
    const queued = await queue(h.base, agent, 5);
    offWhileBlocked(h.env);
    expect(await Promise.all(queued), 'requests answered right after `off` exited').to.deep.equal([
      200, 200, 200, 200, 200,
    ]);
    expect(await statusOf(h.base, agent)).to.equal(200);
  });

  it('does not count a read that the blocked loop kept waiting as a store outage (the file answered at once)', async () => {
    const h = await appInMaintenance();
    await sleep(1100); // past cacheTtlMs: the next getState() refreshes in the background
    void service?.getState(); // that read starts now, then the loop is blocked past storeTimeoutMs (500 ms)
    offWhileBlocked(h.env);
    expect(await statusOf(h.base, agent), 'the first request after the block').to.equal(200);
    expect(h.logger.warnings, 'warnings logged').to.deep.equal([]);
    expect(
      h.storeErrors.map((e) => e.code),
      'storeError events',
    ).to.deep.equal([]);
  });
});

/** The fleet's view of the instance `pid`: listed and stale. */
async function staleInFleet(admin: MaintenanceService, pid: number): Promise<boolean> {
  return (await admin.fleet()).instances.some((i) => i.pid === pid && i.stale);
}

/** Continues a stopped process (when it still runs). */
function resume(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // gone already
  }
}

describe('a stopped instance (SIGSTOP) that the fleet counted as stale re-reads the state before it serves', function () {
  this.timeout(FLEET_APP_START_MS + 3 * PATIENCE_MS);
  const apps: FleetApp[] = [];
  const admins: MaintenanceService[] = [];
  let agent: Agent;
  beforeEach(() => {
    agent = new Agent({ keepAlive: true, maxSockets: 20 });
  });
  afterEach(async () => {
    agent.destroy();
    for (const a of apps) resume(a.pid);
    await Promise.all([...apps.splice(0).map((a) => a.stop()), ...admins.splice(0).map((s) => s.close())]);
  });

  /**
   * One instance on `env` with a cacheTtlMs (10 s) far longer than its presence interval (200 ms, stale after 600 ms):
   * only its staleness can tell it that what it holds may be old. Stopped, found stale, switched on with `on --wait`
   * (which settles without it), then continued: the 20 requests written to it meanwhile must all see maintenance.
   */
  async function stoppedThroughASwitch(env: Record<string, string>, store: MaintenanceServiceOptions['store']) {
    const app = await startFleetApp({ ...env, FLEET_CACHE_TTL_MS: '10000' }, 200);
    apps.push(app);
    const admin = new MaintenanceService({ store, logger: captureLogger() });
    admins.push(admin);
    expect(await warm(app.base, agent, 20)).to.deep.equal(Array(20).fill(200));
    process.kill(app.pid, 'SIGSTOP');
    try {
      await until(() => staleInFleet(admin, app.pid), PATIENCE_MS);
      const queued = await queue(app.base, agent, 20);
      const on = await cliProcess(['on', '--wait', '--timeout', '20s'], { USER: 'ops', ...env }, PATIENCE_MS * 2);
      expect(on.code, on.out + on.err).to.equal(0); // settled: the stopped instance is stale, not waited for
      resume(app.pid);
      const statuses = await Promise.all(queued);
      expect(
        statuses.filter((s) => s !== 503),
        'answers other than 503 after `on --wait` said the fleet settled',
      ).to.deep.equal([]);
      expect(await app.get()).to.equal(503);
    } finally {
      resume(app.pid);
    }
  }

  it('on Redis', async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    const redis: TestRedis = await startRedis();
    try {
      await stoppedThroughASwitch({ MAINTENANCE_MODE_REDIS_URL: redis.url }, createRedisStore(redis.url));
    } finally {
      await Promise.all(admins.splice(0).map((s) => s.close()));
      for (const a of apps) resume(a.pid);
      await Promise.all(apps.splice(0).map((a) => a.stop()));
      await redis.dispose();
    }
  });

  it('on PostgreSQL', async function () {
    requireBinary(this, postgresBin('initdb') ?? 'initdb', 'postgresql');
    const pg: TestPostgres = await startPostgres();
    try {
      await stoppedThroughASwitch({ MAINTENANCE_MODE_POSTGRES_URL: pg.url }, createPostgresStore(pg.url));
    } finally {
      await Promise.all(admins.splice(0).map((s) => s.close()));
      for (const a of apps) resume(a.pid);
      await Promise.all(apps.splice(0).map((a) => a.stop()));
      await pg.dispose();
    }
  });
});

describe('a lease whose runner was paused, not killed: once lapsed it stays lapsed', function () {
  this.timeout(FLEET_APP_START_MS + 4 * PATIENCE_MS);
  let dir: string;
  let runner: ChildProcess | undefined;
  const apps: FleetApp[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-lease-'));
  });
  afterEach(async () => {
    const child = runner;
    runner = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGTERM'); // forwarded to the command (exec sleep), then the state is put back
      const gone = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!gone) child.kill('SIGKILL');
    }
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to renew a lease that lapsed (renewLease names leaseUntil and the fix)', async () => {
    const service = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    try {
      await service.enable({ leaseMs: 3000 });
      await service.renewLease(); // in time (3 s: room for a slow machine): renewed
      await until(async () => !(await service.isEnabled()), PATIENCE_MS);
      const refused = await service.renewLease().then(
        () => undefined,
        (err: MaintenanceError) => err,
      );
      expect(refused?.code, 'renewLease() of a lapsed lease').to.equal('ERR_MAINTENANCE_INVALID_SCHEDULE');
      expect(refused?.message)
        .to.match(/leaseUntil/)
        .and.match(/enable\(\{ leaseMs \}\)/);
      expect(await service.isEnabled(), 'the site after the refused renewal').to.equal(false);
    } finally {
      await service.close();
    }
  });

  it('keeps the site up when `run --lease` is continued (SIGCONT) after its lease lapsed', async () => {
    const env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') };
    const app = await startFleetApp(env, 300);
    apps.push(app);
    const child = spawnCli(['run', '--lease', '2s', '--', 'sh', '-c', 'echo started; exec sleep 60'], {
      ...process.env,
      ...env,
    });
    runner = child;
    const { out, err } = outputOf(child);
    await until(() => /^started$/m.test(out()), PATIENCE_MS);
    expect(await app.get()).to.equal(503);
    child.kill('SIGSTOP');
    await until(async () => (await app.get()) === 200, PATIENCE_MS); // the lease lapsed: the site is back
    child.kill('SIGCONT');
    // The runner's renewal comes due at once: refused (said on stderr), or, before the fix, the site went down again.
    await until(async () => /lease could not be renewed/.test(err()) || (await app.get()) !== 200, PATIENCE_MS);
    expect(await app.get(), `the site after the paused runner went on (stderr: ${err()})`).to.equal(200);
    expect(err()).to.match(/lapsed/);
  });
});
