import { expect } from 'chai';
import pg from 'pg';
import { createPostgresStore, hashSecret, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger, createTestApp, pushesReach } from './helpers/app.js';
import { cliProcess, cliRunner } from './helpers/cli.js';
import { expectNoForgery, expectSecretWorks } from './helpers/forge.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/**
 * PostgreSQL stays stalled (SIGSTOP) until the test of bounds is done: whatever waited for it would never end (a CLI is
 * killed after STALL_MS), while a call bounded by storeTimeoutMs ends within BOUND_MS (the bound plus seconds of slack
 * for a loaded machine: Node's start, the bounded close).
 */
const STALL_MS = 30_000;
const BOUND_MS = 10_000;

describe('PostgreSQL store: hardening (a real private cluster)', function () {
  this.timeout(3 * PATIENCE_MS);
  let db: TestPostgres;
  const services: MaintenanceService[] = [];
  const clients: pg.Client[] = [];
  const make = (extra: object = {}) => {
    const s = new MaintenanceService({ store: createPostgresStore(db.url), logger: captureLogger(), ...extra });
    services.push(s);
    return s;
  };
  const sql = async () => {
    const c = new pg.Client({ connectionString: db.url });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  };
  const stateRow = async (c: pg.Client) =>
    (await c.query("SELECT value FROM maintenance_mode_keyv WHERE key = 'maintenance_mode_state'")).rows[0]?.value;
  const historyCount = async (c: pg.Client) =>
    Number((await c.query('SELECT count(*) AS n FROM maintenance_mode_history')).rows[0].n);
  before(async function () {
    requireBinary(this, postgresBin('initdb') ?? 'initdb', 'postgresql');
    db = await startPostgres();
  });
  afterEach(async () => {
    db.resume();
    await Promise.all(services.splice(0).map((s) => s.close()));
    const c = await sql();
    await c.query('DROP TABLE IF EXISTS maintenance_mode_keyv, maintenance_mode_scopes, maintenance_mode_history');
    await Promise.all(clients.splice(0).map((x) => x.end().catch(() => undefined)));
  });
  after(async () => db?.dispose());

  it('holds nothing, in its tables or its notifications, from which a bypass cookie can be made', async () => {
    const listener = await sql();
    const payloads: string[] = [];
    listener.on('notification', (n) => payloads.push(n.payload ?? ''));
    await listener.query('LISTEN maintenance_mode_changes');
    const secret = 'a-window-secret-0123456789abcdef';
    const writer = make();
    await writer.enable({ bypassHash: hashSecret(secret), message: 'migrating' });
    await writer.enable({ scope: 'billing', bypassHash: hashSecret(`${secret}-billing`) });
    await until(() => payloads.length >= 2, PATIENCE_MS);
    const c = await sql();
    const tables = ['maintenance_mode_keyv', 'maintenance_mode_scopes', 'maintenance_mode_history'];
    const rows: string[] = [];
    for (const table of tables) rows.push(JSON.stringify((await c.query(`SELECT * FROM ${table}`)).rows));
    const dump = [...rows, ...payloads].join('\n');
    expect(dump).to.include(hashSecret(secret));
    const t = createTestApp({ service: make() });
    await expectNoForgery(t.request, dump);
    for (const p of payloads) {
      expect(Buffer.byteLength(p)).to.be.below(200);
      expect(p).to.not.match(/[0-9a-f]{64}|migrating/);
    }
    await expectSecretWorks(t.request, secret); // the secret itself still works
  });

  it('lands a switch blocked by a row lock whole once the lock goes, or not at all: never the state without its history', async () => {
    // The server gives up on a statement after max(1 s, connectTimeoutMs): 20 s for `patient`, whose switch the lock
    // only delays however slow the machine; the default 1 s for `writer`, held up for 4 s.
    const patient = make({ store: createPostgresStore(db.url, { connectTimeoutMs: 20_000 }), storeTimeoutMs: 200 });
    const writer = make({ storeTimeoutMs: 200 });
    const reader = make({ cacheTtlMs: 60_000 });
    await writer.disable({ by: 'setup' });
    await reader.getState();
    await pushesReach(writer, [reader]); // LISTEN established
    const c = await sql();
    const before = await historyCount(c);
    // Locked briefly (released before the server's statement_timeout): the switch lands later, with history and push.
    const locker = await sql();
    await locker.query('BEGIN');
    await locker.query("SELECT * FROM maintenance_mode_keyv WHERE key = 'maintenance_mode_state' FOR UPDATE");
    const err = await patient.enable({ message: 'late', by: 'ops' }).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN');
    expect(JSON.parse(await stateRow(c)).value.enabled).to.equal(false);
    await sleep(200);
    await locker.query('COMMIT');
    await until(() => reader.lastKnownState().message === 'late', PATIENCE_MS); // notified when it committed
    expect(await historyCount(c)).to.equal(before + 1);
    expect((await writer.history(1))[0]).to.include({ to: 'on', by: 'ops', message: 'late' });
    // Locked for longer than the server allows a statement: it gives up, and neither the state nor history changes.
    await locker.query('BEGIN');
    await locker.query("SELECT * FROM maintenance_mode_keyv WHERE key = 'maintenance_mode_state' FOR UPDATE");
    const again = await writer.disable({ by: 'ops' }).catch((e) => e);
    expect(again).to.have.property('code', 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN');
    await sleep(4000); // well past the server's 1 s, however late its timer fires on a busy machine
    await locker.query('COMMIT');
    await sleep(300);
    expect(JSON.parse(await stateRow(c)).value).to.include({ enabled: true, message: 'late' });
    expect(await historyCount(c)).to.equal(before + 1);
    expect(reader.lastKnownState().enabled).to.equal(true);
  });

  it('ends the CLI soon after storeTimeoutMs while PostgreSQL is stalled (SIGSTOP)', async function () {
    this.timeout(2 * STALL_MS + PATIENCE_MS);
    await make().enable({ message: 'before the stall' });
    db.pause(); // until the test resumes it: whatever waited for the server would never end
    try {
      for (const args of [['status'], ['off']]) {
        const r = await cliProcess(args, { MAINTENANCE_MODE_POSTGRES_URL: db.url }, STALL_MS);
        expect(r.code, r.err).to.equal(1);
        expect(r.ms, args.join(' ')).to.be.below(BOUND_MS); // the default storeTimeoutMs (500 ms) and slack
      }
    } finally {
      db.resume();
    }
  });

  it('keeps every credential of the URL out of descriptions, errors, warnings and the CLI', async () => {
    const url = `${db.url}?password=hunter2&sslpassword=s3cr3t-ssl&application_name=x`;
    const logger = captureLogger();
    const s = new MaintenanceService({ store: createPostgresStore(url), logger });
    services.push(s);
    await s.enable({ message: 'credentials' });
    expect(s.storeDescription).to.include('password=***').and.include('sslpassword=***');
    const down = `postgres://app:pw-in-userinfo@127.0.0.1:1/x?password=hunter2&sslpassword=s3cr3t-ssl`;
    const broken = new MaintenanceService({ store: createPostgresStore(down), logger, storeTimeoutMs: 300 });
    services.push(broken);
    await broken.getState(); // warns about the outage
    const err = await broken.enable().catch((e) => e);
    expect(() => createPostgresStore(`mysql://u:pw-in-userinfo@h/x?password=hunter2`)).to.throw(MaintenanceError);
    const invalid = (() => {
      try {
        createPostgresStore('mysql://u:pw-in-userinfo@h/x?password=hunter2');
      } catch (e) {
        return (e as Error).message;
      }
    })();
    const cli = await cliRunner(process.cwd(), { USER: 'ops', MAINTENANCE_MODE_POSTGRES_URL: url })([
      'status',
      '--json',
    ]);
    const everything = [s.storeDescription, err.message, invalid, ...logger.warnings, cli.out, cli.err].join('\n');
    expect(everything).to.include('PostgreSQL at postgres://app:***@127.0.0.1:1/x');
    for (const secret of ['hunter2', 's3cr3t-ssl', 'pw-in-userinfo']) expect(everything).to.not.include(secret);
  });
});
