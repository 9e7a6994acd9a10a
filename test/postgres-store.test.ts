import { expect } from 'chai';
import pg from 'pg';
import { createPostgresStore, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS } from './helpers/wait.js';

/** Every PostgreSQL suite: skipped (outside CI) or failed (CI) without Debian's server binaries. */
function needPostgres(ctx: Mocha.Context): void {
  requireBinary(ctx, postgresBin('initdb') ?? 'initdb', 'postgresql');
}

describe('PostgreSQL store: what is particular to PostgreSQL (test/store-contract.test.ts runs the rest)', function () {
  this.timeout(3 * PATIENCE_MS);
  let db: TestPostgres;
  const services: MaintenanceService[] = [];
  const instance = (extra: object = {}) => {
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

  it('keeps the state in its own tables, one row per enabled scope, and names the server without the password', async () => {
    // A fresh cluster's first connections can be slow while the whole suite runs: this test is about the tables.
    const a = instance({ cacheTtlMs: 0, storeTimeoutMs: 5000 });
    await a.enable({ message: 'from a', by: 'ops' });
    await a.enable({ scope: 'tenant:42', message: 'migrating' });
    await a.enable({ scope: 'billing' });
    await a.disable({ scope: 'billing' });
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
      const scopes = await client.query('SELECT scope, state FROM maintenance_mode_scopes');
      expect(scopes.rows.map((r) => [r.scope, r.state.message])).to.deep.equal([['tenant:42', 'migrating']]);
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
