import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import pg from 'pg';
import { createPostgresStore, MaintenanceError, MaintenanceService, maintenance } from '../src/index.js';
import { captureLogger, pushesReach } from './helpers/app.js';
import { loadUntil } from './helpers/load.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until as untilPolled } from './helpers/wait.js';

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Waits until `check` holds, trying again at once (setImmediate): the latencies printed are not rounded up. */
async function until(check: () => boolean, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - t0;
}

/** Every PostgreSQL suite: skipped (outside CI) or failed (CI) without Debian's server binaries. */
function needPostgres(ctx: Mocha.Context): void {
  requireBinary(ctx, postgresBin('initdb') ?? 'initdb', 'postgresql');
}

describe('PostgreSQL store: a real private cluster', function () {
  this.timeout(3 * PATIENCE_MS);
  let db: TestPostgres;
  const services: MaintenanceService[] = [];
  const instance = (extra: object = {}) => {
    // A one-minute cache: whatever another instance sees within a test can only have been pushed.
    const s = new MaintenanceService({
      store: createPostgresStore(db.url),
      cacheTtlMs: 60_000,
      logger: captureLogger(),
      ...extra,
    });
    services.push(s);
    return s;
  };
  before(async function () {
    needPostgres(this);
    db = await startPostgres();
  });
  afterEach(async () => Promise.all(services.splice(0).map((s) => s.close())));
  after(async () => db?.dispose());

  it('shares the state between instances in its own tables, and names the server without the password', async () => {
    // A fresh cluster's first connections can be slow while the whole suite runs: this test is about sharing.
    const a = instance({ cacheTtlMs: 0, storeTimeoutMs: 5000 });
    const b = instance({ cacheTtlMs: 0, storeTimeoutMs: 5000 });
    await a.enable({ message: 'from a', by: 'ops' });
    expect(await b.getState()).to.include({ enabled: true, message: 'from a', updatedBy: 'ops' });
    expect(a.storeDescription).to.equal(`PostgreSQL at ${db.url}`);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'maintenance_mode%' ORDER BY 1",
      );
      expect(rows.map((r) => r.table_name)).to.deep.equal([
        'maintenance_mode_claims',
        'maintenance_mode_history',
        'maintenance_mode_keyv',
        'maintenance_mode_meta',
        'maintenance_mode_presence',
        'maintenance_mode_scopes',
        'maintenance_mode_tokens',
      ]);
      const state = await client.query("SELECT value FROM maintenance_mode_keyv WHERE key = 'maintenance_mode_state'");
      expect(JSON.parse(state.rows[0].value).value).to.include({ enabled: true, message: 'from a' });
    } finally {
      await client.end();
    }
    expect(
      new MaintenanceService({ postgresUrl: 'postgres://u:secret@127.0.0.1:1/x', logger: captureLogger() })
        .storeDescription,
    ).to.equal('PostgreSQL at postgres://u:***@127.0.0.1:1/x');
  });

  it('lets many instances first use an empty database at once: the tables are made once, every instance works', async () => {
    const tablePrefix = `race_${Date.now().toString(36)}`;
    const logger = captureLogger();
    const many = Array.from({ length: 8 }, () =>
      // Generous timeouts: the race under test is the catalogue's, not 8 connections being made on a busy machine.
      instance({
        store: createPostgresStore(db.url, { tablePrefix, connectTimeoutMs: 5000 }),
        cacheTtlMs: 0,
        storeTimeoutMs: 5000,
        logger,
      }),
    );
    // All at once: every store runs its table setup concurrently with the others (a catalogue race for most).
    await Promise.all(many.map((s, i) => s.enable({ scope: `part-${i}`, by: 'ops' })));
    const states = await Promise.all(many.map((s, i) => s.getStoredState(`part-${(i + 1) % many.length}`)));
    expect(states.map((s) => s.enabled)).to.deep.equal(many.map(() => true));
    // Every switch read what it replaced (a setup that failed would make the read fail: 'unreadable').
    expect((await many[0].history(20)).map((e) => e.from)).to.deep.equal(many.map(() => 'off'));
    expect(logger.warnings).to.deep.equal([]); // no store failure on the way
  });

  it('pushes 200 toggles to two other instances by LISTEN/NOTIFY within milliseconds (p50/p99 printed)', async () => {
    const writer = instance();
    const readers = [instance(), instance()];
    for (const r of readers) await r.getState(); // subscribe
    await pushesReach(writer, readers); // LISTEN established
    const reads = readers.map((r) => r.storeReads);
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const want = i % 2 === 0;
      const t0 = performance.now();
      await (want ? writer.enable({ by: `t${i}` }) : writer.disable({ by: `t${i}` }));
      for (const r of readers) {
        await until(() => r.lastKnownState().enabled === want && r.lastKnownState().updatedBy === `t${i}`, PATIENCE_MS);
      }
      latencies.push(performance.now() - t0);
    }
    latencies.sort((x, y) => x - y);
    console.log(
      `      PostgreSQL propagation write+notify to 2 instances over 200 toggles: p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`,
    );
    // Pushed, not polled: a change message names what changed, and each instance reads it once (60 s cache).
    expect(readers.map((r, i) => r.storeReads - reads[i]).every((n) => n <= 200 + 3)).to.equal(true);
  });

  it('pushes scoped changes, and keeps one row per enabled scope', async () => {
    const writer = instance();
    const reader = instance();
    await reader.scopeStates();
    await pushesReach(writer, [reader]); // LISTEN established
    await writer.enable({ scope: 'tenant:42', message: 'migrating' });
    await until(() => reader.lastKnownState('tenant:42').message === 'migrating', PATIENCE_MS);
    await writer.enable({ scope: 'billing' });
    await writer.disable({ scope: 'billing' });
    await until(() => !reader.lastKnownState('billing').enabled, PATIENCE_MS);
    expect((await writer.scopes()).map((s) => s.scope)).to.deep.equal(['tenant:42']);
  });

  it('appends the history atomically: two instances changing the state at once lose no entry', async () => {
    const a = instance({ cacheTtlMs: 0 });
    const b = instance({ cacheTtlMs: 0 });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [a.enable({ by: `a${i}` }), b.disable({ by: `b${i}` })]).flat(),
    );
    const bys = (await a.history(100)).map((e) => e.by);
    for (let i = 0; i < 20; i++) expect(bys).to.include.members([`a${i}`, `b${i}`]);
  });

  it('fails fast on an unreachable server, naming it, and rejects a URL that is not postgres://', async () => {
    const s = new MaintenanceService({
      store: createPostgresStore('postgres://postgres@127.0.0.1:1/postgres'),
      logger: captureLogger(),
    });
    const t0 = performance.now();
    const err = await s.getStoredState().catch((e) => e);
    expect(performance.now() - t0).to.be.below(5000); // refused at once; slack for a loaded machine, never a hang
    expect(err).to.be.instanceOf(MaintenanceError);
    expect(err.message).to.include('PostgreSQL at postgres://postgres@127.0.0.1:1/postgres');
    await s.close();
    expect(() => createPostgresStore('mysql://x')).to.throw(MaintenanceError, /postgres:\/\//);
    expect(() => new MaintenanceService({ postgresUrl: 'http://x' })).to.throw(MaintenanceError, /postgresUrl/);
  });
});

describe('PostgreSQL store: the server fails under load', function () {
  this.timeout(6 * PATIENCE_MS);
  let db: TestPostgres;
  let instances: Array<{ server: Server; base: string; service: MaintenanceService }>;
  const TIMEOUT = 300;
  /**
   * How long the server is down or stalled. A request that waited for it would take about that long; one bounded by
   * storeTimeoutMs takes TIMEOUT plus what a loaded machine adds (SLOWEST_MS allows seconds), far less.
   */
  const OUTAGE_MS = 6000;
  const SLOWEST_MS = OUTAGE_MS - 2000;

  before(async function () {
    needPostgres(this);
    db = await startPostgres();
  });
  after(async () => db?.dispose());
  beforeEach(async () => {
    instances = [];
    for (let i = 0; i < 2; i++) {
      const s = new MaintenanceService({
        store: createPostgresStore(db.url),
        cacheTtlMs: 200,
        storeTimeoutMs: TIMEOUT,
        logger: captureLogger(),
      });
      const app = new Koa();
      app.use(maintenance({ service: s }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      instances.push({ server, service: s, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
    await instances[0].service.disable({ by: 'setup' });
  });
  afterEach(async () => {
    for (const i of instances) {
      i.server.closeAllConnections();
      await new Promise((r) => i.server.close(r));
      await i.service.close();
    }
  });

  const load = (stop: Promise<unknown>) => loadUntil(() => instances.map((i) => i.base), stop);

  it('stopped and restarted: no 5xx, no request waits for the server, the state correct after', async () => {
    const scenario = (async () => {
      await sleep(300);
      await db.stop();
      await sleep(OUTAGE_MS);
      await db.restart();
      await sleep(1500);
    })();
    const { statuses, slowest } = await load(scenario);
    expect(Object.keys(statuses)).to.deep.equal(['200']);
    expect(statuses['200']).to.be.above(100);
    expect(slowest).to.be.below(SLOWEST_MS); // bounded by storeTimeoutMs, not by the outage
    for (const i of instances) {
      // Once reconnected, the store has what it had.
      const read = () => i.service.getStoredState().catch(() => undefined);
      await untilPolled(async () => (await read()) !== undefined, PATIENCE_MS);
      expect(await i.service.getStoredState()).to.include({ enabled: false, updatedBy: 'setup' });
    }
  });

  it('stalled (SIGSTOP): requests do not hang, they recover after SIGCONT, and a later toggle reaches both', async () => {
    const scenario = (async () => {
      await sleep(300);
      db.pause();
      await sleep(OUTAGE_MS);
      db.resume();
      await sleep(1000);
    })();
    const { statuses, slowest } = await load(scenario);
    expect(Object.keys(statuses)).to.deep.equal(['200']);
    expect(slowest).to.be.below(SLOWEST_MS); // bounded by storeTimeoutMs, not by the stall
    const wrote = () =>
      instances[0].service.enable({ by: 'after-stall' }).then(
        () => true,
        () => false,
      );
    await untilPolled(wrote, PATIENCE_MS); // the store answers again after SIGCONT
    await untilPolled(async () => (await fetch(`${instances[1].base}/`)).status === 503, PATIENCE_MS); // the other one too
  });

  it('a toggle acknowledged before an outage is still there after it, and is served again', async () => {
    const { service, base } = instances[0];
    await service.enable({ message: 'acknowledged', by: 'ops' });
    await db.stop();
    const poll = async (want: number) => {
      let status = 0;
      const read = async () => {
        status = (await fetch(`${base}/`)).status;
        return status === want;
      };
      await untilPolled(read, PATIENCE_MS).catch(() => undefined);
      return status;
    };
    expect(await poll(200)).to.equal(200); // the outage policy: last known state for cacheTtlMs, then fallbackValue
    await db.restart();
    expect(await poll(503)).to.equal(503);
    expect(await service.getStoredState()).to.include({ enabled: true, message: 'acknowledged', updatedBy: 'ops' });
  });
});
