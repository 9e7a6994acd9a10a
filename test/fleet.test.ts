import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { cliRunner } from './helpers/cli.js';
import { FLEET_APP_START_MS, type FleetApp, startFleetApp } from './helpers/fleet.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/** A store the fleet tests run on: the env for app processes, and services of this process on the same store. */
interface FleetStore {
  readonly env: Record<string, string>;
  service(extra?: object): MaintenanceService;
}

/**
 * The apps' heartbeat interval where the test is not about heartbeats: far longer than a wait (PATIENCE_MS), so a
 * wait that settles was settled by push, not by the next report.
 */
const HEARTBEAT_MS = 60_000;

/**
 * The fleet of app processes on one store (the file store: several processes on one host). What every store must do for
 * a fleet, in one process, is in the store contract suite (test/store-contract.test.ts, the presence scenarios).
 */
function fleetScenarios(
  name: string,
  need: (ctx: Mocha.Context) => void,
  open: () => Promise<FleetStore & { dispose(): Promise<void> }>,
) {
  describe(`the fleet on ${name}: every instance confirms the switch`, function () {
    this.timeout(2 * FLEET_APP_START_MS + 2 * PATIENCE_MS);
    let store: FleetStore & { dispose(): Promise<void> };
    const apps: FleetApp[] = [];
    const services: MaintenanceService[] = [];
    const service = (extra: object = {}) => {
      const s = store.service({ logger: captureLogger(), ...extra });
      services.push(s);
      return s;
    };
    const app = async (intervalMs = HEARTBEAT_MS) => {
      const a = await startFleetApp(store.env, intervalMs);
      apps.push(a);
      return a;
    };
    before(async function () {
      need(this);
      store = await open();
    });
    beforeEach(async () => {
      const reset = store.service({ logger: captureLogger() });
      await reset.disable({ by: 'test' });
      await reset.close();
    });
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((a) => a.stop()));
      await Promise.all(services.splice(0).map((s) => s.close()));
    });
    after(async () => store?.dispose());

    it('is acknowledged by push, well under the heartbeat interval', async () => {
      const [a, b] = [await app(), await app()];
      const admin = service();
      await until(async () => (await admin.fleet()).instances.filter((i) => !i.stale).length === 2, PATIENCE_MS);
      const t0 = performance.now();
      await admin.enable({ message: 'migrating' });
      // Settled long before the next heartbeat (HEARTBEAT_MS): by push. How fast is the benchmarks' business.
      const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
      const ms = performance.now() - t0;
      console.log(`      ${name}: enable() to waitForFleet() settled with 2 instances: ${ms.toFixed(1)} ms`);
      expect(fleet.instances.map((i) => i.pid).sort()).to.deep.equal([a.pid, b.pid].sort());
      expect(fleet.instances.every((i) => i.applied >= fleet.revision && !i.stale)).to.equal(true);
      expect(await a.get()).to.equal(503);
      expect(fleet.instances[0]).to.include({ version: '0.1.0', held: 0, inFlight: 0 });
    });

    it('drains: waits for a slow request let in before, and reports it while waiting', async () => {
      const a = await app();
      await app();
      const admin = service();
      await until(async () => (await admin.fleet()).instances.filter((i) => !i.stale).length === 2, PATIENCE_MS);
      const SLOW_MS = 3000;
      const t0 = performance.now();
      const slow = a.slow(SLOW_MS);
      await slow.started;
      await admin.enable();
      let settled = false;
      const waiting = admin.waitForFleet({ timeoutMs: PATIENCE_MS + SLOW_MS }).finally(() => {
        settled = true;
      });
      // Its report after the switch says the request is in flight, while the wait goes on.
      const inFlight = async () => (await admin.fleet()).instances.find((i) => i.pid === a.pid)?.inFlight;
      await until(async () => (await inFlight()) === 1 || settled, PATIENCE_MS);
      expect(settled, 'the wait ended while a request let in before was in flight').to.equal(false);
      await waiting; // before the next heartbeat (HEARTBEAT_MS): the drain was pushed
      expect(performance.now() - t0, 'the wait ended before the request').to.be.at.least(SLOW_MS - 50); // timer rounding
      expect(await slow.status).to.equal(200); // it was let in before: it finished, not blocked
      expect(await a.get()).to.equal(503);
    });

    it('stops waiting for an instance killed with -9 after 3 intervals, and times out naming who is behind', async () => {
      const a = await app(300);
      const b = await app(300);
      const admin = service();
      await until(async () => (await admin.fleet()).instances.filter((i) => !i.stale).length === 2, PATIENCE_MS);
      const slow = a.slow(60_000); // in flight until a is killed
      await slow.started;
      const inFlight = async () => (await admin.fleet()).instances.find((i) => i.pid === a.pid)?.inFlight;
      await until(async () => (await inFlight()) === 1, PATIENCE_MS); // its heartbeat says so
      await admin.enable();
      const err = await admin.waitForFleet({ timeoutMs: 600 }).catch((e) => e);
      expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_FLEET_TIMEOUT');
      expect(err.message).to.include(`pid ${a.pid}`).and.include('1 in flight');
      expect(err.fleet.instances.find((i: { pid: number }) => i.pid === a.pid)).to.include({ inFlight: 1 });
      await a.kill();
      expect(await slow.status).to.equal(0); // no answer: it died with the request in flight
      // Settles without a once a is stale (3 intervals, 900 ms), not at the timeout (the wait would throw).
      const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS });
      expect(fleet.instances.find((i) => i.pid === a.pid)?.stale).to.equal(true);
      expect(fleet.instances.find((i) => i.pid === b.pid)?.stale).to.equal(false);
    });

    it('lets a lease lapse when nobody renews it, and keeps it while renewed', async () => {
      // Renewed halfway (3 s of slack before the lease lapses), checked just past the first lease (3 s of slack
      // before the renewed one lapses): a slow machine has room on both sides.
      const LEASE_MS = 6000;
      const a = await app();
      const admin = service();
      const ons = async () => (await admin.history(50)).filter((e) => e.to === 'on').length;
      const before = await ons();
      await admin.enable({ leaseMs: LEASE_MS });
      const first = Date.parse((await admin.getStoredState()).leaseUntil as string);
      expect(await a.get()).to.equal(503);
      await sleep(LEASE_MS / 2);
      await admin.renewLease();
      expect(Date.parse((await admin.getStoredState()).leaseUntil as string)).to.be.at.least(first + LEASE_MS / 2);
      await until(async () => Date.now() > first + 200, LEASE_MS);
      expect(await a.get()).to.equal(503); // renewed: past the first lease, still on
      await until(async () => (await a.get()) === 200, PATIENCE_MS + LEASE_MS); // lapsed: reads as off everywhere
      expect((await admin.getStoredState()).enabled).to.equal(true); // the stored state is as it was, lapsed
      expect(await ons()).to.equal(before + 1); // renewals are quiet: one entry, the switch on
    });

    it('leaves the fleet at once when an instance closes', async () => {
      const a = await app();
      const b = await app();
      const admin = service();
      await until(async () => (await admin.fleet()).instances.filter((i) => !i.stale).length === 2, PATIENCE_MS);
      await b.stop();
      apps.splice(apps.indexOf(b), 1);
      const fleet = await admin.fleet();
      expect(fleet.instances.filter((i) => !i.stale).map((i) => i.pid)).to.deep.equal([a.pid]);
      expect(fleet.instances.map((i) => i.pid)).to.not.include(b.pid);
    });
  });
}

fleetScenarios(
  'the file store (several processes on one host)',
  () => undefined,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-fleet-'));
    const stateFilePath = join(dir, 'state.json');
    return {
      env: { MAINTENANCE_MODE_STATE_FILE_PATH: stateFilePath },
      service: (extra = {}) => new MaintenanceService({ stateFilePath, ...extra }),
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

describe('maintenance-mode run and on --wait: a migration wrapped by the CLI', function () {
  this.timeout(2 * FLEET_APP_START_MS + 2 * PATIENCE_MS);
  let dir: string;
  let env: Record<string, string>;
  const apps: FleetApp[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-run-'));
    env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const app = async () => {
    const a = await startFleetApp(env, 300);
    apps.push(a);
    return a;
  };

  it('switches on, waits for the fleet, runs the command, switches off, and exits with its code', async () => {
    const a = await app();
    const cli = cliRunner(dir, env);
    const marker = join(dir, 'migrated');
    const r = await cli([
      'run',
      '--message',
      'Migrating',
      '--',
      'sh',
      '-c',
      `curl -s -o /dev/null -w '%{http_code}' ${a.base}/ > ${marker}; exit 7`,
    ]);
    expect(r.code, r.err).to.equal(7);
    expect(r.out, r.out).to.match(/Every live instance \(1\) applied revision 1 and drained/);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(marker, 'utf8')).to.equal('503'); // during the command the site was in maintenance
    expect(await a.get()).to.equal(200); // and after it, back as it was
    const history = JSON.parse((await cli(['history', '--json'])).out);
    expect(history.slice(0, 2).map((e: { reason: string; to: string }) => [e.to, e.reason])).to.deep.equal([
      ['off', `run: sh -c "curl -s -o /dev/null -w '%{http_code}' ${a.base}/ > ${marker}; exit 7"`],
      ['on', `run: sh -c "curl -s -o /dev/null -w '%{http_code}' ${a.base}/ > ${marker}; exit 7"`],
    ]);
  });

  it('keeps maintenance on after a failed command with --keep-on-failure', async () => {
    await app();
    const cli = cliRunner(dir, env);
    const r = await cli(['run', '--keep-on-failure', '--', 'sh', '-c', 'exit 3']);
    expect(r.code).to.equal(3);
    expect(r.err).to.include('stays on (--keep-on-failure)');
    expect(JSON.parse((await cli(['status', '--json'])).out).active).to.equal(true);
  });

  it('exits 75 without starting the command when the fleet does not settle, the state put back', async () => {
    const a = await app();
    const cli = cliRunner(dir, env);
    const slow = a.slow(5000); // in flight for far longer than the run waits (800 ms)
    await slow.started;
    const marker = join(dir, 'started');
    const r = await cli(['run', '--timeout', '800ms', '--', 'touch', marker]);
    expect(r.code).to.equal(75);
    expect(r.err).to.include('did not settle').and.include('was not started');
    expect(r.out).to.match(/\*\s+\S+\s+\d+\s+0\.1\.0\s+1\s+1\s/); // the table: the instance behind, 1 in flight
    expect(existsSync(marker)).to.equal(false);
    expect(JSON.parse((await cli(['status', '--json'])).out).enabled).to.equal(false);
    expect(await slow.status).to.equal(200);
  });

  it('on --wait exits 0 once settled, 3 with the table of those behind; fleet lists the instances', async () => {
    const a = await app();
    await app();
    const cli = cliRunner(dir, env);
    await until(async () => JSON.parse((await cli(['fleet', '--json'])).out).instances.length === 2, PATIENCE_MS);
    const fleet = await cli(['fleet']);
    expect(fleet.out).to.match(/^2 live instance\(s\) at revision 0: all applied it\.\n/);
    expect(JSON.parse((await cli(['fleet', '--json'])).out).instances).to.have.length(2);
    expect((await cli(['on', '--wait'])).code).to.equal(0);
    await cli(['off']);
    const slow = a.slow(5000); // in flight for far longer than the wait (500 ms)
    await slow.started;
    const late = await cli(['on', '--wait', '--timeout', '500ms']);
    expect(late.code).to.equal(3);
    expect(late.out).to.include(`${a.pid}`);
    await slow.status;
  });

  it('refuses run without a command, and durations that are none', async () => {
    const cli = cliRunner(dir, env);
    expect((await cli(['run'])).err).to.match(/^run needs the command after --/);
    expect((await cli(['on', '--wait', '--timeout', 'soon'])).err).to.match(/^--timeout takes a duration such as 30s/);
    expect((await cli(['on', '--timeout', '5s'])).err).to.match(/^--timeout goes with --wait\./);
  });
});
