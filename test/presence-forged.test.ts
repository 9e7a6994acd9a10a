import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import pg from 'pg';
import { isStale, type PresenceRecord } from '../src/core/presence.js';
import { CLOCK_SKEW_ALLOWANCE_MS, createPostgresStore, createRedisStore, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { cliBytes, killCliProcesses } from './helpers/cli.js';
import { postgresBin, startPostgres, type TestPostgres } from './helpers/postgres.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const at = (ms: number) => new Date(Date.now() + ms).toISOString();

/** A record as an instance writes it, with `over` forged in. */
function record(id: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = new Date().toISOString();
  const base = { id, host: 'forged', pid: 1, version: '0.0.0', startedAt: now, lastSeen: now, applied: 0 };
  return { ...base, inFlight: 0, held: 0, intervalMs: 5000, ...over };
}

describe('isStale(): a record is live only with a well-formed report from the recent past (pure)', () => {
  const fresh = { ...record('a'), lastSeen: NOW.toISOString() } as unknown as PresenceRecord;
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ['reported just now', {}, false],
    ['reported 14 s ago (3 intervals: 15 s)', { lastSeen: new Date(NOW.getTime() - 14_000).toISOString() }, false],
    ['reported 16 s ago', { lastSeen: new Date(NOW.getTime() - 16_000).toISOString() }, true],
    [
      'from a clock 29 s ahead (inside the allowance)',
      { lastSeen: new Date(NOW.getTime() + 29_000).toISOString() },
      false,
    ],
    ['from 31 s ahead (past the allowance)', { lastSeen: new Date(NOW.getTime() + 31_000).toISOString() }, true],
    ['from the year 2999', { lastSeen: '2999-01-01T00:00:00.000Z' }, true],
    ['with lastSeen "not a date"', { lastSeen: 'not a date' }, true],
    ['with lastSeen a number', { lastSeen: NOW.getTime() }, true],
    ['without lastSeen', { lastSeen: undefined }, true],
    ['with intervalMs 1e12 (no interval of this package)', { intervalMs: 1e12 }, true],
    ['with intervalMs "5000"', { intervalMs: '5000' }, true],
    ['with applied "0"', { applied: '0' }, true],
    ['with inFlight -1', { inFlight: -1 }, true],
    ['with a drain count "3"', { drain: { shop: '3' } }, true],
    ['with host 42', { host: 42 }, true],
  ];
  for (const [name, over, stale] of cases) {
    it(`${stale ? 'is stale' : 'is live'} ${name}`, () => {
      expect(isStale({ ...fresh, ...over } as PresenceRecord, NOW)).to.equal(stale);
    });
  }

  it('allows 30 s of clock skew', () => {
    expect(CLOCK_SKEW_ALLOWANCE_MS).to.equal(30_000);
  });
});

describe('joinFleet(): an interval the others would take for forged is refused', () => {
  it('throws ERR_MAINTENANCE_INVALID_OPTION naming intervalMs and its bounds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-join-'));
    const s = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    try {
      for (const intervalMs of [50, 600_001, 1.5]) {
        expect(() => s.joinFleet({ intervalMs }))
          .to.throw(/intervalMs must be a whole number of milliseconds from 100 to 600000/)
          .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
      }
      expect(readdirSync(dir)).to.deep.equal([]); // it did not join: no record, no side directory
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A store with presence, and a way to write into it what a forger (or a broken writer) would. */
interface ForgeableStore {
  service(): MaintenanceService;
  /** Writes `value` (JSON text) as the presence record of `id`. */
  forge(id: string, text: string): Promise<void>;
  /** Removes every presence record (between tests). */
  clear(): Promise<void>;
  dispose(): Promise<void>;
}

/** The scenarios every store with presence must pass. */
function forgedScenarios(name: string, need: (ctx: Mocha.Context) => void, open: () => Promise<ForgeableStore>) {
  describe(`forged and broken presence records on ${name}: stale, never waited for`, function () {
    this.timeout(3 * PATIENCE_MS);
    let store: ForgeableStore;
    const services: MaintenanceService[] = [];
    const service = () => {
      const s = store.service();
      services.push(s);
      return s;
    };
    before(async function () {
      need(this);
      store = await open();
    });
    afterEach(async () => {
      await Promise.all(services.splice(0).map((s) => s.close()));
      await store.clear();
    });
    after(async () => store?.dispose());

    /** A real instance of this process in the fleet, the switch made, then `forged` written; the wait's result. */
    async function waitPast(forged: Record<string, string>) {
      const member = service();
      member.joinFleet({ intervalMs: 200 });
      const admin = service();
      await until(async () => (await admin.fleet()).instances.some((i) => !i.stale), PATIENCE_MS);
      await admin.enable({ by: 'test' });
      for (const [id, text] of Object.entries(forged)) await store.forge(id, text);
      const fleet = await admin.waitForFleet({ timeoutMs: PATIENCE_MS }); // it would time out waiting for a forgery
      const live = fleet.instances.filter((i) => !i.stale);
      expect(
        live.map((i) => i.host),
        'only the real instance is live',
      ).to.have.length(1);
      expect(live[0].applied).to.be.at.least(fleet.revision);
      return { fleet, admin };
    }

    it('does not wait for a record from the year 2999, and lists it as stale', async () => {
      const { fleet, admin } = await waitPast({
        future: JSON.stringify(record('future', { lastSeen: '2999-01-01T00:00:00.000Z' })),
      });
      expect(fleet.instances.find((i) => i.id === 'future')?.stale).to.equal(true);
      expect((await admin.fleet()).instances.find((i) => i.id === 'future')?.stale).to.equal(true);
    });

    it('does not wait for records whose lastSeen is no date, or whose fields are of the wrong type', async () => {
      const { fleet } = await waitPast({
        text: JSON.stringify(record('text', { lastSeen: 'not a date' })),
        number: JSON.stringify(record('number', { lastSeen: Date.now() })),
        interval: JSON.stringify(record('interval', { intervalMs: 1e12 })),
        applied: JSON.stringify(record('applied', { applied: '0', inFlight: '2' })),
      });
      const forged = fleet.instances.filter((i) => i.host === 'forged');
      expect(forged.map((i) => [i.id, i.stale]).sort()).to.deep.equal([
        ['applied', true],
        ['interval', true],
        ['number', true],
        ['text', true],
      ]);
    });

    it('stops waiting for a record from just inside the skew allowance once it stays unchanged for 3 intervals', async () => {
      const { fleet } = await waitPast({
        ahead: JSON.stringify(record('ahead', { lastSeen: at(20_000), intervalMs: 200 })),
      });
      expect(fleet.instances.find((i) => i.id === 'ahead')?.stale).to.equal(true);
    });

    it('skips values that are no record at all (null, an array, a text, no id)', async () => {
      const { fleet, admin } = await waitPast({ n: 'null', a: '[1]', t: '"text"', o: '{}', i: '{"id":5}' });
      expect(fleet.instances).to.have.length(1);
      expect((await admin.fleet()).instances).to.have.length(1);
    });
  });
}

/** Where the file store keeps the record of `id`: in the side directory (made here, as a forger would). */
function presenceFileOf(statePath: string, id: string): string {
  mkdirSync(`${statePath}.d`, { recursive: true });
  return join(`${statePath}.d`, `presence.${encodeURIComponent(id)}.json`);
}

forgedScenarios(
  'the file store',
  () => undefined,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-forged-'));
    const stateFilePath = join(dir, 'state.json');
    return {
      service: () => new MaintenanceService({ stateFilePath, logger: captureLogger() }),
      forge: async (id, text) => writeFileSync(presenceFileOf(stateFilePath, id), text),
      clear: async () => {
        const side = `${stateFilePath}.d`;
        for (const n of existsSync(side) ? readdirSync(side) : []) if (n.startsWith('presence.')) rmSync(join(side, n));
      },
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
);

let redis: TestRedis | undefined;
forgedScenarios(
  'a real Redis',
  (ctx) => requireBinary(ctx, 'redis-server', 'redis-server'),
  async () => {
    redis = await startRedis();
    const url = redis.url;
    const raw = createClient({ url });
    raw.on('error', () => undefined);
    await raw.connect();
    return {
      service: () => new MaintenanceService({ store: createRedisStore(url), logger: captureLogger() }),
      forge: async (id, text) => {
        // As a forger would: a key without a TTL, in the index far ahead, so no prune ever drops it.
        await raw.set(`maintenance-mode::presence:${id}`, text);
        await raw.zAdd('maintenance-mode::presence', { score: 32_503_680_000_000, value: id });
      },
      clear: async () => {
        const keys = await raw.keys('maintenance-mode::presence*');
        if (keys.length > 0) await raw.del(keys);
      },
      dispose: async () => {
        await raw.quit().catch(() => undefined);
        await redis?.dispose();
      },
    };
  },
);

let postgres: TestPostgres | undefined;
forgedScenarios(
  'a real PostgreSQL',
  (ctx) => requireBinary(ctx, postgresBin('initdb') ?? 'initdb', 'postgresql'),
  async () => {
    postgres = await startPostgres();
    const url = postgres.url;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      service: () => new MaintenanceService({ store: createPostgresStore(url), logger: captureLogger() }),
      forge: async (id, text) => {
        await client.query(
          `INSERT INTO maintenance_mode_presence (id, record, last_seen) VALUES ($1, $2::jsonb, now() + interval '1 day')
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, last_seen = EXCLUDED.last_seen`,
          [id, text],
        );
      },
      clear: async () => {
        await client.query('DELETE FROM maintenance_mode_presence');
      },
      dispose: async () => {
        await client.end().catch(() => undefined);
        await postgres?.dispose();
      },
    };
  },
);

describe('the CLI with forged presence files: on --wait and run complete, old files expire by age', function () {
  this.timeout(60_000);
  let dir: string;
  let statePath: string;
  let env: Record<string, string>;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-forged-cli-'));
    statePath = join(dir, 'state.json');
    env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: statePath };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  after(killCliProcesses);
  const forge = (id: string, value: unknown) => writeFileSync(presenceFileOf(statePath, id), JSON.stringify(value));

  it('on --wait exits 0 despite a record from the year 2999 behind the revision', async () => {
    forge('future', record('future', { lastSeen: '2999-01-01T00:00:00.000Z', applied: 0 }));
    const r = await cliBytes(['on', '--wait', '--timeout', '5s'], env);
    expect(r.code, `${r.out}${r.err}`).to.equal(0);
    expect(r.out).to.match(/Every live instance \(0\) applied revision 1 and drained/);
  });

  it('run starts its command despite a record whose lastSeen is no date', async () => {
    forge('broken', record('broken', { lastSeen: 'not a date', applied: 0, inFlight: 3 }));
    const marker = join(dir, 'ran');
    const r = await cliBytes(['run', '--timeout', '5s', '--', 'touch', marker], env);
    expect(r.code, `${r.out}${r.err}`).to.equal(0);
    expect(existsSync(marker)).to.equal(true);
  });

  it('fleet forgets (and removes) a file not rewritten for 20 of its intervals, whatever lastSeen it claims', async () => {
    forge('old', record('old', { lastSeen: new Date(Date.now() - 600_000).toISOString() }));
    forge('ahead', record('ahead', { lastSeen: '2999-01-01T00:00:00.000Z' }));
    forge('recent', record('recent', { lastSeen: new Date(Date.now() - 60_000).toISOString() }));
    const tenMinutesAgo = new Date(Date.now() - 600_000);
    for (const id of ['old', 'ahead']) utimesSync(presenceFileOf(statePath, id), tenMinutesAgo, tenMinutesAgo);
    const r = await cliBytes(['fleet', '--json'], env);
    expect(r.code, r.err).to.equal(0);
    const ids = (JSON.parse(r.out).instances as Array<{ id: string; stale: boolean }>).map((i) => [i.id, i.stale]);
    expect(ids).to.deep.equal([['recent', true]]); // 60 s old: stale, kept (100 s at 5 s intervals)
    expect(readdirSync(`${statePath}.d`).filter((n) => n.startsWith('presence.'))).to.deep.equal([
      'presence.recent.json',
    ]);
  });

  it('fleet prints its table with a record whose fields have the wrong types, marked stale', async () => {
    forge('odd', record('odd', { host: 42, pid: 'x', version: null, applied: '0' }));
    const r = await cliBytes(['fleet'], env);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^0 live instance\(s\) at revision 0: all applied it; 1 stale\.\n/);
    expect(r.out).to.match(/\n\s+42\s+x\s+null\s+0\s/);
    expect(r.out).to.include('(stale)');
  });
});
