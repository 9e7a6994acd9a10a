import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import pg from 'pg';
import supertest from 'supertest';
import {
  type AutoRecoverEvent,
  type AutoTripEvent,
  type AutoTripOptions,
  isActive,
  MaintenanceError,
  MaintenanceService,
  type MaintenanceServiceOptions,
  maintenanceRoutes,
} from '../src/index.js';
import { startReceiver } from '../src/testing/receiver.js';
import { captureLogger, createTestApp, memoryService } from './helpers/app.js';
import { endChild, outputOf, spawnChild } from './helpers/children.js';
import { cliRunner } from './helpers/cli.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

/** Services on one state file in a temp dir (the file store: several services, or processes, share it). */
function fileFleet() {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-trip-'));
  const path = join(dir, 'maintenance_mode_state.json');
  const services: MaintenanceService[] = [];
  const service = (extra: MaintenanceServiceOptions = {}) => {
    const s = new MaintenanceService({ stateFilePath: path, logger: captureLogger(), ...extra });
    services.push(s);
    return s;
  };
  const dispose = async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, path, service, dispose };
}

/** The `auto-trip` and `auto-recover` events `service` emits. */
function eventsOf(service: MaintenanceService) {
  const trips: AutoTripEvent[] = [];
  const recoveries: AutoRecoverEvent[] = [];
  service.on('auto-trip', (t) => trips.push(t));
  service.on('auto-recover', (r) => recoveries.push(r));
  return { trips, recoveries };
}

/** A check the test makes healthy or not, counting its runs. */
function probe() {
  const p = { healthy: true, runs: 0, check: () => undefined as unknown as boolean };
  p.check = () => {
    p.runs++;
    return p.healthy;
  };
  return p;
}

/** Resolves once `p` has run `n` more checks. */
const moreRuns = (p: { runs: number }, n: number) => {
  const target = p.runs + n;
  return until(() => p.runs >= target, PATIENCE_MS);
};

/** Short intervals: a trip after 2 failed checks, a recovery after 2 good ones. */
const FAST = { intervalMs: 100, timeoutMs: 80, failAfter: 2, recoverAfter: 2 } as const;

describe('autoTrip(): options are checked when it is called', () => {
  const service = memoryService();
  after(() => service.close());
  const ok: AutoTripOptions = { name: 'db', check: () => true };
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no name', { name: undefined }, /name must be 1 to 64 printable characters/],
    ['an empty name', { name: '' }, /name must be/],
    ['a name with surrounding spaces', { name: ' db' }, /name .*without surrounding spaces/],
    ['a name with a line break', { name: 'db\nx' }, /name must be/],
    ['a name of 65 characters', { name: 'x'.repeat(65) }, /name must be 1 to 64/],
    ['a check that is no function', { check: 'SELECT 1' }, /check must be a function/],
    ['intervalMs 0', { intervalMs: 0 }, /intervalMs must be a whole number of milliseconds from 50 to 3600000/],
    ['intervalMs 1.5', { intervalMs: 1.5 }, /intervalMs must be a whole number/],
    ['intervalMs above an hour', { intervalMs: 3_600_001 }, /intervalMs must be/],
    ['timeoutMs longer than intervalMs', { intervalMs: 1000, timeoutMs: 1500 }, /timeoutMs must not exceed intervalMs/],
    ['timeoutMs 5', { timeoutMs: 5 }, /timeoutMs must be a whole number of milliseconds from 10/],
    ['failAfter 0', { failAfter: 0 }, /failAfter must be a whole number from 1 to 1000/],
    ['failAfter 2.5', { failAfter: 2.5 }, /failAfter must be a whole number/],
    ['recoverAfter 1001', { recoverAfter: 1001 }, /recoverAfter must be a whole number from 1 to 1000/],
    ['mode off', { mode: 'off' }, /mode must be "readOnly" .* or "on"/],
    ['a scope that is no scope name', { scope: 'no spaces' }, /scope must be a scope name/],
    ['a message over the limit', { message: 'x'.repeat(1001) }, /message is 1001 characters long/],
    ['an unknown option', { failAftr: 3 }, /Unknown autoTrip\(\) option `failAftr`. Did you mean `failAfter`\?/],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what}, naming the option and the fix`, () => {
      const options = { ...ok, ...change } as unknown as AutoTripOptions;
      expect(() => service.autoTrip(options))
        .to.throw(MaintenanceError, message)
        .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
    });
  }

  it('refuses a name already running on the service, and takes it again once stopped', () => {
    const stop = service.autoTrip(ok);
    expect(() => service.autoTrip(ok))
      .to.throw(MaintenanceError, /name is already used by a running autoTrip\(\) of this service/)
      .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
    stop();
    service.autoTrip(ok)();
  });

  it('refuses options that are no object', () => {
    expect(() => service.autoTrip(undefined as unknown as AutoTripOptions)).to.throw(
      MaintenanceError,
      /must be an object/,
    );
  });
});

describe('autoTrip(): one check at a time, a hanging one counted at timeoutMs', function () {
  this.timeout(2 * PATIENCE_MS);
  let fleet: ReturnType<typeof fileFleet>;
  beforeEach(() => {
    fleet = fileFleet();
  });
  afterEach(() => fleet.dispose());

  it('counts a check that never answers as failed at timeoutMs and at each later interval, starting no other', async () => {
    const service = fleet.service();
    const { trips } = eventsOf(service);
    let runs = 0;
    let signal: AbortSignal | undefined;
    service.autoTrip({
      name: 'hang',
      check: (s) => {
        runs++;
        signal = s;
        return new Promise<boolean>(() => undefined);
      },
      intervalMs: 100,
      timeoutMs: 50,
      failAfter: 3,
    });
    await until(() => trips.length > 0, PATIENCE_MS);
    expect(runs).to.equal(1);
    expect(signal?.aborted).to.equal(true);
    expect(trips[0]).to.include({ name: 'hang', switched: true });
    expect(trips[0].failures).to.be.at.least(3); // more when the machine is slow: the count when it switched
    expect(trips[0].error).to.match(/^still running after \d+ ms \(timeoutMs 50\); none started meanwhile$/);
    const [entry] = await service.history(1);
    expect(entry).to.include({ by: 'auto:hang', source: 'auto', from: 'off', to: 'read-only' });
    expect(entry.reason).to.match(/^check "hang" failed \d+ times: still running after/);
  });

  it('never has two checks in flight when checks take longer than the interval', async () => {
    const service = fleet.service();
    let inFlight = 0;
    let most = 0;
    let finished = 0;
    service.autoTrip({
      name: 'slow',
      check: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 230));
        inFlight--;
        finished++;
        return true;
      },
      intervalMs: 100,
      timeoutMs: 50,
      failAfter: 1000,
    });
    await until(() => finished >= 4, PATIENCE_MS);
    expect(most).to.equal(1);
  });

  it('counts false, a throw and an answer that is no boolean as failures, saying which', async () => {
    const service = fleet.service();
    const { trips } = eventsOf(service);
    const answers: Array<() => unknown> = [
      () => false,
      () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      () => undefined,
    ];
    const seen: string[] = [];
    service.on('auto-trip', (t) => seen.push(t.error));
    let i = 0;
    const stop = service.autoTrip({
      name: 'mixed',
      check: () => answers[Math.min(i++, answers.length - 1)]() as boolean,
      ...FAST,
      failAfter: 3,
    });
    await until(() => trips.length > 0, PATIENCE_MS);
    stop();
    expect(trips[0].failures).to.be.at.least(3);
    expect(trips[0].error).to.equal('returned undefined, not true or false');
    const history = await service.history(5);
    expect(history[0].reason).to.equal(
      `check "mixed" failed ${trips[0].failures} times: returned undefined, not true or false`,
    );
  });
});

describe('autoTrip(): switches only what is its own', function () {
  this.timeout(3 * PATIENCE_MS);
  let fleet: ReturnType<typeof fileFleet>;
  beforeEach(() => {
    fleet = fileFleet();
  });
  afterEach(() => fleet.dispose());

  it('trips once for the fleet: of two instances failing the same check, one switches on and renews', async () => {
    const a = fleet.service();
    const b = fleet.service();
    const events = [eventsOf(a), eventsOf(b)];
    const p = probe();
    p.healthy = false;
    for (const s of [a, b]) s.autoTrip({ name: 'db', check: p.check, ...FAST });
    await until(() => events.some((e) => e.trips.length > 0), PATIENCE_MS);
    await moreRuns(p, 10); // both go on failing: the other sees the state, and the lease is renewed
    expect(events.flatMap((e) => e.trips)).to.have.length(1);
    const state = await a.getStoredState();
    expect(state).to.include({ enabled: true, readOnly: true, updatedBy: 'auto:db', leaseMs: 1000 });
    expect(isActive(state, new Date())).to.equal(true);
    const ons = (await a.history(50)).filter((e) => e.to !== 'off');
    expect(ons.map((e) => `${e.by} ${e.source} ${e.to}`)).to.deep.equal(['auto:db auto read-only']);
  });

  it('only records while a person’s state is in force, and trips once it is switched off', async () => {
    const service = fleet.service();
    const { trips } = eventsOf(service);
    await service.enable({ by: 'ops', message: 'Planned work' });
    const p = probe();
    p.healthy = false;
    service.autoTrip({ name: 'db', check: p.check, ...FAST, mode: 'on', message: 'Database down' });
    await until(() => trips.length > 0, PATIENCE_MS);
    expect(trips[0]).to.include({ switched: false });
    expect(trips[0].state).to.include({ updatedBy: 'ops' });
    const [note] = await service.history(1);
    expect(note).to.include({ by: 'auto:db', source: 'auto', from: 'on', to: 'on' });
    expect(note.reason).to.match(
      /^check "db" failed \d+ times: returned false; not switched: maintenance set by ops is in force$/,
    );
    await moreRuns(p, 3);
    expect(await service.getStoredState()).to.include({ updatedBy: 'ops', message: 'Planned work' });
    await service.disable({ by: 'ops' });
    await until(() => trips.some((t) => t.switched), PATIENCE_MS);
    expect(await service.getStoredState()).to.include({
      enabled: true,
      updatedBy: 'auto:db',
      message: 'Database down',
    });
    expect((await service.getStoredState()).readOnly).to.equal(undefined); // mode 'on'
  });

  it('leaves a person’s off during a trip alone until the check recovers, then trips again', async () => {
    const service = fleet.service();
    const { trips, recoveries } = eventsOf(service);
    const p = probe();
    p.healthy = false;
    service.autoTrip({ name: 'db', check: p.check, ...FAST });
    await until(() => trips.length === 1, PATIENCE_MS);
    await service.disable({ by: 'ops' });
    await moreRuns(p, 6);
    expect(await service.getStoredState()).to.include({ enabled: false, updatedBy: 'ops' });
    expect(trips).to.have.length(1);
    p.healthy = true;
    await until(() => recoveries.length === 1, PATIENCE_MS);
    expect(recoveries[0]).to.include({ name: 'db', switched: false });
    expect((await service.history(1))[0].reason).to.equal(
      `check "db" passed ${recoveries[0].successes} times; nothing switched back`,
    );
    p.healthy = false;
    await until(() => trips.length === 2, PATIENCE_MS);
    expect(await service.getStoredState()).to.include({ enabled: true, updatedBy: 'auto:db' });
  });

  it('gives a trip to the person who switches on over it: their state, no lease, never switched off by the check', async () => {
    const service = fleet.service();
    const { trips, recoveries } = eventsOf(service);
    const p = probe();
    p.healthy = false;
    service.autoTrip({ name: 'db', check: p.check, ...FAST });
    await until(() => trips.length > 0, PATIENCE_MS);
    const on = await cliRunner(fleet.dir)(['on', '--message', 'Failing over by hand']);
    expect(on.code).to.equal(0);
    expect(on.out).to.include('Maintenance was on by a failing health check (autoTrip): it is yours now');
    const mine = await service.getStoredState();
    expect(mine).to.include({ enabled: true, updatedBy: 'cli:ops', message: 'Failing over by hand' });
    expect(mine).to.not.have.any.keys('leaseUntil', 'leaseMs', 'readOnly');
    p.healthy = true;
    await until(() => recoveries.length > 0, PATIENCE_MS);
    expect(recoveries[0]).to.include({ switched: false });
    expect(await service.getStoredState()).to.include({ enabled: true, updatedBy: 'cli:ops' });
  });

  it('trips a scope, and says so in the status (CLI and JSON)', async () => {
    const service = fleet.service();
    const { trips } = eventsOf(service);
    service.autoTrip({ name: 'payments', check: () => false, ...FAST, scope: 'billing' });
    await until(() => trips.length > 0, PATIENCE_MS);
    expect(trips[0]).to.include({ scope: 'billing', switched: true });
    expect(await service.getStoredState()).to.include({ enabled: false });
    const scoped = await service.getStoredState('billing');
    expect(scoped).to.include({ enabled: true, readOnly: true, updatedBy: 'auto:payments' });
    const cli = cliRunner(fleet.dir);
    const text = await cli(['status', '--scope', 'billing']);
    expect(text.out).to.include(
      `is on (read-only: writes are blocked, reading works; auto: payments since ${scoped.updatedAt})`,
    );
    const json = JSON.parse((await cli(['status', '--scope', 'billing', '--json'])).out);
    expect(json.auto).to.deep.equal({ name: 'payments', since: scoped.updatedAt });
  });

  it('says on the status page and in /status that the site switched itself on', async () => {
    const service = fleet.service();
    const { trips } = eventsOf(service);
    service.autoTrip({ name: 'db', check: () => false, ...FAST });
    await until(() => trips.length > 0, PATIENCE_MS);
    const app = new Koa();
    app.use(maintenanceRoutes({ service, isSuperuser: () => true }).routes());
    const { updatedAt } = await service.getStoredState();
    const page = await supertest(app.callback()).get('/maintenance-mode/').expect(200);
    expect(page.text).to.include(`its health check "db" kept failing, since <time datetime="${updatedAt}">`);
    const status = await supertest(app.callback()).get('/maintenance-mode/status').expect(200);
    expect(status.body).to.include({ active: true, readOnly: true, updatedBy: 'auto:db' });
    expect(status.body.auto).to.deep.equal({ name: 'db', since: updatedAt });
  });

  it('notifies the webhooks of its switches, as any switch does', async () => {
    const receiver = await startReceiver();
    try {
      const service = fleet.service({ notify: [{ url: receiver.url }] });
      const p = probe();
      p.healthy = false;
      service.autoTrip({ name: 'db', check: p.check, ...FAST });
      await until(() => receiver.events().includes('enabled'), PATIENCE_MS);
      p.healthy = true;
      await until(() => receiver.events().includes('disabled'), PATIENCE_MS);
      expect(receiver.events()).to.deep.equal(['enabled', 'disabled']); // renewals are quiet
      const [on, off] = receiver.bodies as Array<{ state: { updatedBy: string; readOnly?: boolean } }>;
      expect(on.state).to.include({ updatedBy: 'auto:db', readOnly: true });
      expect(off.state).to.include({ updatedBy: 'auto:db' });
    } finally {
      await receiver.close();
    }
  });

  it('stops with stop() and with close(): no check runs after', async () => {
    const service = fleet.service();
    const p = probe();
    const stop = service.autoTrip({ name: 'a', check: p.check, ...FAST });
    const q = probe();
    service.autoTrip({ name: 'b', check: q.check, ...FAST });
    await moreRuns(p, 2);
    stop();
    const stoppedAt = p.runs;
    await moreRuns(q, 3);
    expect(p.runs).to.equal(stoppedAt);
    await service.close();
    const closedAt = q.runs;
    const r = probe();
    const other = fleet.service();
    other.autoTrip({ name: 'c', check: r.check, ...FAST });
    await moreRuns(r, 3);
    expect(q.runs).to.equal(closedAt);
    expect(() => service.autoTrip({ name: 'd', check: () => true })).to.throw(MaintenanceError, /closed service/);
  });
});

describe('autoTrip() against a real PostgreSQL: a SELECT 1 that fails when the server stops', function () {
  this.timeout(6 * PATIENCE_MS);
  let db: TestPostgres;
  let fleet: ReturnType<typeof fileFleet>;
  const pools: pg.Pool[] = [];
  /** `SELECT 1` through its own pool of one connection, each attempt bounded. */
  const selectOne = () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 300, query_timeout: 300 });
    pool.on('error', () => undefined); // an idle client whose server went away
    pools.push(pool);
    return async () => (await pool.query('SELECT 1 AS ok')).rows[0]?.ok === 1;
  };
  const PG = { intervalMs: 500, timeoutMs: 400, failAfter: 2, recoverAfter: 2 } as const;

  before(async function () {
    requireBinary(this, postgresBin('initdb') ?? 'initdb', 'postgresql');
    db = await startPostgres(20);
  });
  beforeEach(async () => {
    fleet = fileFleet();
    if (!(await selectOne()().catch(() => false))) await db.restart();
  });
  afterEach(async () => {
    await fleet.dispose();
    await Promise.all(pools.splice(0).map((p) => p.end().catch(() => undefined)));
  });
  after(async () => db?.dispose());

  it('trips read-only with a lease it renews while the database is down, and recovers when it is back', async () => {
    const service = fleet.service();
    const { trips, recoveries } = eventsOf(service);
    service.autoTrip({ name: 'db', check: selectOne(), ...PG });
    await db.stop();
    await until(() => trips.length > 0, PATIENCE_MS);
    const tripped = await service.getStoredState();
    expect(tripped).to.include({ enabled: true, readOnly: true, updatedBy: 'auto:db', leaseMs: 1500 });
    expect(Date.parse(tripped.leaseUntil as string)).to.be.above(Date.now());
    const [entry] = await service.history(1);
    expect(entry).to.include({ by: 'auto:db', source: 'auto', from: 'off', to: 'read-only' });
    expect(entry.reason).to.match(/^check "db" failed \d+ times: .+/);
    const status = await cliRunner(fleet.dir)(['status']);
    expect(status.out).to.include(
      `on (read-only: writes are blocked, reading works; auto: db since ${tripped.updatedAt})`,
    );
    // Renewed while failing: the state outlives its first lease.
    const firstLease = Date.parse(tripped.leaseUntil as string);
    await until(() => Date.now() > firstLease + 200, PATIENCE_MS);
    const renewed = await service.getStoredState();
    expect(Date.parse(renewed.leaseUntil as string)).to.be.above(firstLease);
    expect(isActive(renewed, new Date())).to.equal(true);
    expect(renewed.updatedAt).to.equal(tripped.updatedAt);
    await db.restart();
    await until(() => recoveries.length > 0, PATIENCE_MS);
    expect(recoveries[0]).to.include({ name: 'db', switched: true });
    expect(recoveries[0].successes).to.be.at.least(2);
    expect(await service.getStoredState()).to.include({ enabled: false, updatedBy: 'auto:db' });
    const [off] = await service.history(1);
    expect(off).to.include({ from: 'read-only', to: 'off', source: 'auto' });
    expect(off.reason).to.equal(`check "db" passed ${recoveries[0].successes} times`);
  });

  it('never switches off a manual on made during a trip', async () => {
    const service = fleet.service();
    const person = fleet.service();
    const { trips, recoveries } = eventsOf(service);
    service.autoTrip({ name: 'db', check: selectOne(), ...PG });
    await db.stop();
    await until(() => trips.length > 0, PATIENCE_MS);
    await person.enable({ by: 'ops', message: 'Failing over by hand' });
    await db.restart();
    await until(() => recoveries.length > 0, PATIENCE_MS);
    expect(recoveries[0]).to.include({ switched: false });
    const state = await person.getStoredState();
    expect(state).to.include({ enabled: true, updatedBy: 'ops', message: 'Failing over by hand' });
    expect(state.leaseUntil).to.equal(undefined); // its lease was never put on the person's state
    expect(await person.isEnabled()).to.equal(true);
  });

  it('a killed tripping instance leaves the site up again within the lease', async () => {
    const INTERVAL_MS = 400;
    const child = spawnChild(process.execPath, [join(__dirname, 'fixtures', 'auto-trip-app.js')], {
      env: {
        ...process.env,
        MAINTENANCE_MODE_STATE_FILE_PATH: fleet.path,
        PG_URL: db.url,
        TRIP_INTERVAL_MS: String(INTERVAL_MS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { out, err } = outputOf(child);
    try {
      await until(() => out().includes('started'), PATIENCE_MS);
      await db.stop();
      await until(() => out().includes('auto-trip '), PATIENCE_MS);
      const watcher = fleet.service({ cacheTtlMs: 0 });
      const t = createTestApp({ service: watcher });
      await t.request().post('/').expect(503); // read-only: writes get the maintenance answer
      const first = await watcher.getStoredState();
      await until(async () => (await watcher.getStoredState()).leaseUntil !== first.leaseUntil, PATIENCE_MS);
      const killedAt = Date.now();
      await endChild(child, 'SIGKILL');
      const last = await watcher.getStoredState();
      expect(last).to.include({ enabled: true, updatedBy: 'auto:db', leaseMs: 3 * INTERVAL_MS });
      expect(Date.parse(last.leaseUntil as string)).to.be.at.most(killedAt + 3 * INTERVAL_MS);
      await until(async () => !(await watcher.isEnabled()), 3 * INTERVAL_MS + PATIENCE_MS);
      await t.request().post('/').expect(200); // the app answers writes again
      expect((await watcher.getStoredState()).updatedBy).to.equal('auto:db'); // nobody wrote: the lease lapsed
    } catch (e) {
      throw new Error(`${(e as Error).message}\nthe instance printed: ${out()}${err()}`);
    } finally {
      await endChild(child, 'SIGKILL');
    }
  });
});
