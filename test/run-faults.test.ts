import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { USAGE } from '../src/cli/cli.js';
import { createRedisStore, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { spawnCli } from './helpers/cli.js';
import { cliEnv } from './helpers/exits.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { until } from './helpers/wait.js';

/** Whether `pid` runs (a zombie waiting to be reaped does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Kills `pid` (-9) if it still runs: a CMD a failed test left behind. */
function killPid(pid: number | undefined): void {
  if (pid === undefined || !running(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

describe('maintenance-mode run under faults: the store down as CMD ends, a runner killed with -9 (a real Redis)', function () {
  this.timeout(90_000);
  let redis: TestRedis;
  let dir: string;
  const runners: ChildProcess[] = [];
  const cmdPids: number[] = [];
  const services: MaintenanceService[] = [];
  const service = () => {
    const s = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() });
    services.push(s);
    return s;
  };
  /** The runner as its own process; CMD waits for the file `go` before it exits with `code`, and says its pid. */
  const runner = (args: string[], cmdScript: string) => {
    const child = spawnCli(
      ['run', ...args, '--', 'sh', '-c', cmdScript],
      cliEnv({ MAINTENANCE_MODE_REDIS_URL: redis.url }),
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: dir,
      },
    );
    runners.push(child);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    return { child, exit, out: () => out };
  };
  const waitForCmd = async (r: { out(): string }) => {
    await until(() => /^started$/m.test(r.out()) && existsSync(join(dir, 'pid')), 20_000);
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    cmdPids.push(pid);
    return pid;
  };
  const enabled = async () => (await service().getStoredState()).enabled;
  const WAIT_FOR_GO = 'echo $$ > pid; echo started; while [ ! -e go ]; do sleep 0.05; done';

  let down = false;
  const stopRedis = async () => {
    down = true;
    await redis.stop();
  };
  const restartRedis = async () => {
    await redis.restart();
    down = false;
  };
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    redis = await startRedis();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-run-faults-'));
  });
  afterEach(async () => {
    for (const r of runners.splice(0)) r.kill('SIGKILL');
    for (const pid of cmdPids.splice(0)) killPid(pid);
    if (down) await restartRedis();
    await Promise.all(services.splice(0).map((s) => s.close()));
    const reset = service();
    await reset.disable({ by: 'test' });
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => redis?.dispose());

  it('tries again to switch off while the store is down as CMD ends, and exits with CMD code once it is back', async () => {
    const r = runner(['--timeout', '20s'], `${WAIT_FOR_GO}; exit 0`);
    await waitForCmd(r);
    await stopRedis();
    writeFileSync(join(dir, 'go'), '');
    await until(() => /trying again/.test(r.out()), 20_000);
    await restartRedis();
    expect(await r.exit, r.out()).to.equal(0);
    expect(r.out()).to.match(/sh exited with 0; maintenance mode is back as it was/);
    expect(await enabled()).to.equal(false);
  });

  it('says plainly that maintenance is still on when the store stays down, with its own code and CMD code', async () => {
    const r = runner(['--timeout', '2s'], `${WAIT_FOR_GO}; exit 0`);
    await waitForCmd(r);
    await stopRedis();
    writeFileSync(join(dir, 'go'), '');
    const code = await r.exit;
    expect(code, r.out()).to.equal(69);
    expect(r.out()).to.match(/sh exited with 0, but maintenance mode is STILL ON: putting it back failed/);
    expect(r.out()).to.include('Run "maintenance-mode off" once the store answers.');
    await restartRedis();
    expect(await enabled()).to.equal(true); // what the message said
  });

  it('ends CMD (and what CMD started) when the runner is killed with -9', async () => {
    const r = runner([], 'sleep 60 & echo $! > sleeper; echo $$ > pid; echo started; wait');
    const pid = await waitForCmd(r);
    const sleeper = Number(readFileSync(join(dir, 'sleeper'), 'utf8'));
    cmdPids.push(sleeper);
    r.child.kill('SIGKILL');
    await until(() => !running(pid) && !running(sleeper), 15_000).catch(() => undefined);
    expect(running(pid), `CMD (pid ${pid}) still runs after its runner was killed with -9`).to.equal(false);
    expect(running(sleeper), `what CMD started (pid ${sleeper}) still runs`).to.equal(false);
  });

  it('with --lease, CMD is gone before the lapsed lease lets the site back (never a site up mid-migration)', async () => {
    const r = runner(['--lease', '1s'], 'echo $$ > pid; echo started; sleep 60');
    const pid = await waitForCmd(r);
    expect(await enabled()).to.equal(true);
    r.child.kill('SIGKILL');
    const s = service();
    await until(async () => !(await s.isEnabled()) || !running(pid), 15_000);
    expect(running(pid), 'CMD still ran when the lease let the site back').to.equal(false);
  });

  it("tells CMD's own exit code 3 from the fleet that did not settle (75), and documents both codes", async () => {
    const three = runner([], 'echo $$ > pid; echo started; exit 3');
    expect(await three.exit, three.out()).to.equal(3);
    rmSync(join(dir, 'pid'));
    const member = service();
    member.joinFleet({ intervalMs: 200 });
    let finish: () => void = () => undefined;
    const work = member.guard(() => new Promise<void>((done) => (finish = done)));
    try {
      await until(async () => (await member.fleet()).instances.some((i) => i.inFlight > 0), 10_000);
      const late = runner(['--timeout', '500ms'], 'echo $$ > pid; echo started; exit 0');
      expect(await late.exit, late.out()).to.equal(75);
      expect(late.out()).to.match(
        /sh was not started \(the fleet did not settle\); maintenance mode is back as it was/,
      );
      expect(existsSync(join(dir, 'pid'))).to.equal(false);
    } finally {
      finish();
      await work;
    }
    expect(USAGE)
      .to.match(/\n {2}75 the fleet did not settle/)
      .and.match(/\n {2}69 maintenance is STILL ON/);
  });
});
