import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isStale, type PresenceRecord } from '../src/core/presence.js';
import { CLOCK_SKEW_ALLOWANCE_MS, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { cliBytes, killCliProcesses } from './helpers/cli.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');

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

/** Where the file store keeps the record of `id`: in the side directory (made here, as a forger would). */
function presenceFileOf(statePath: string, id: string): string {
  mkdirSync(`${statePath}.d`, { recursive: true });
  return join(`${statePath}.d`, `presence.${encodeURIComponent(id)}.json`);
}

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
