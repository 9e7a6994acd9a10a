import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { cliBytes, cliRunner, killCliProcesses } from './helpers/cli.js';
import { type FleetApp, startFleetApp } from './helpers/fleet.js';
import { sleep } from './helpers/wait.js';

/**
 * The file store's side files: everything but the state file lives in one directory beside it (`state.json.d/`),
 * a presence record only once there is a fleet to see, removed on close() and on a clean exit; what killed processes
 * and older versions left is swept by the next process that opens the store.
 */
describe('side files of the file store: the app directory holds the state file and its side directory, nothing else', function () {
  this.timeout(60_000);
  let dir: string;
  let state: string;
  let side: string;
  let env: Record<string, string>;
  const apps: FleetApp[] = [];
  const INTERVAL_MS = 100;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-side-'));
    writeFileSync(join(dir, 'package.json'), '{}\n'); // what the app's directory held before
    state = join(dir, 'state.json');
    side = `${state}.d`;
    env = { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: state };
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.kill()));
    rmSync(dir, { recursive: true, force: true });
  });
  after(killCliProcesses);

  /** An app process on the state file, reporting every 100 ms; `extra` env (FLEET_READY=serving: it never looks). */
  const app = async (extra: Record<string, string> = {}) => {
    const a = await startFleetApp({ ...env, ...extra }, INTERVAL_MS);
    apps.push(a);
    return a;
  };
  /** A clean exit without close(): the process calls process.exit(0) while serving `/exit`. */
  const exitWithoutClose = async (a: FleetApp) => {
    await a.get('/exit').catch(() => 0); // the connection drops as it exits
    await a.stop(); // it has exited already: this only waits for it
  };
  const appDir = () => readdirSync(dir).sort();
  const recordsIn = (path: string) => readdirSync(path).filter((n) => n.startsWith('presence.'));
  const recordOf = (a: FleetApp) => recordsIn(side).find((n) => n.includes(`-${a.pid}-`));

  it('writes nothing while maintenance was never on, and leaves nothing after a clean exit or close()', async () => {
    const a = await app({ FLEET_READY: 'serving' });
    const b = await app({ FLEET_READY: 'serving' });
    for (let i = 0; i < 5; i++) expect([await a.get(), await b.get()]).to.deep.equal([200, 200]);
    await sleep(10 * INTERVAL_MS); // ten of their presence intervals: every report they would make was made
    expect(appDir()).to.deep.equal(['package.json']); // no state file, no record, no temp file
    await exitWithoutClose(a);
    await b.stop(); // SIGTERM: the app closes its service, then exits
    expect(appDir()).to.deep.equal(['package.json']);
  });

  it('lets instances that served before the first switch join it: the first on --wait waits for their requests', async () => {
    const a = await app({ FLEET_READY: 'serving' });
    const t0 = performance.now();
    const slow = a.get('/slow?ms=2000'); // let in before maintenance: the wait must see it finish
    await sleep(200);
    expect(existsSync(side)).to.equal(false); // no fleet anyone can see yet, so no record
    // Busy for a moment as the switch opens the fleet: it sees the side directory appear 300 ms late.
    process.kill(a.pid, 'SIGSTOP');
    const resume = sleep(300).then(() => process.kill(a.pid, 'SIGCONT'));
    const on = await cliRunner(dir, env)(['on', '--wait', '--timeout', '20s']);
    await resume;
    expect(on.code, on.err).to.equal(0);
    expect(on.out).to.match(/Every live instance \(1\) applied revision 1 and drained/);
    expect(performance.now() - t0).to.be.at.least(2000); // it waited for the request, not for nobody
    expect(await slow).to.equal(200);
    expect(appDir()).to.deep.equal(['package.json', 'state.json', 'state.json.d']);
    expect(recordOf(a)).to.be.a('string');
  });

  it('keeps a fleet’s records in the side directory only, and removes each on a clean exit and on close()', async () => {
    const cli = cliRunner(dir, env);
    expect((await cli(['on', '--message', 'Migrating'])).code).to.equal(0);
    const a = await app();
    const b = await app();
    expect(recordOf(a)).to.be.a('string');
    expect(recordOf(b)).to.be.a('string');
    expect(appDir()).to.deep.equal(['package.json', 'state.json', 'state.json.d']);
    await exitWithoutClose(a); // the 'exit' listener removes its record
    expect(recordOf(a)).to.equal(undefined);
    expect(recordOf(b)).to.be.a('string');
    await b.stop(); // close() removes it
    expect(recordsIn(side)).to.deep.equal([]);
    expect(readdirSync(side).filter((n) => n.endsWith('.tmp'))).to.deep.equal([]);
    expect(appDir()).to.deep.equal(['package.json', 'state.json', 'state.json.d']);
  });

  it('sweeps what a process killed with -9 left once it is stale: its record, an hour-old temp file; never a live one', async () => {
    expect((await cliRunner(dir, env)(['on'])).code).to.equal(0);
    const killed = await app();
    const alive = await app();
    const record = recordOf(killed) as string;
    await killed.kill(); // no listener runs: its record stays
    expect(recordOf(killed)).to.equal(record);
    const cut = join(side, `state.json.${killed.pid}.0123456789ab.tmp`); // a write the kill cut short
    const underWay = join(side, `revision.${killed.pid}.ba9876543210.tmp`); // as a live writer's, just made
    writeFileSync(cut, '{"enabled": tr');
    writeFileSync(underWay, '2\n');
    const twoHoursAgo = new Date(Date.now() - 7_200_000);
    utimesSync(cut, twoHoursAgo, twoHoursAgo);
    const tenMinutesAgo = new Date(Date.now() - 600_000); // more than 20 of its intervals
    utimesSync(join(side, record), tenMinutesAgo, tenMinutesAgo);
    const status = await cliBytes(['status'], env); // the next process that opens the store
    expect(status.code, status.err).to.equal(0);
    const left = readdirSync(side);
    expect(left).to.not.include(record).and.not.include(`state.json.${killed.pid}.0123456789ab.tmp`);
    expect(left).to.include(`revision.${killed.pid}.ba9876543210.tmp`).and.include(recordOf(alive));
    expect(appDir()).to.deep.equal(['package.json', 'state.json', 'state.json.d']);
  });

  it('moves what a version before 0.2 kept beside the state file into the side directory, and sweeps its stale leftovers', async () => {
    for (const args of [
      ['on', '--scope', 'billing', '--message', 'Invoices'],
      ['token', 'create', '--label', 'ci', '--allow', 'read'],
      ['on', '--message', 'Old layout'],
    ]) {
      const r = await cliBytes(args, env);
      expect(r.code, r.err).to.equal(0);
    }
    // The layout before 0.2: the same files, each named `state.json.<name>` beside the state file.
    for (const name of readdirSync(side)) if (name !== '.gitignore') renameSync(join(side, name), `${state}.${name}`);
    rmSync(side, { recursive: true });
    const old = new Date(Date.now() - 7_200_000);
    const leftovers: Record<string, string> = {
      'state.json.presence.gone.json': '{"id":"gone","intervalMs":5000}', // its process was killed long ago
      'state.json.presence.recent.json': '{"id":"recent","intervalMs":5000}', // maybe still running: data stays
      'state.json.4242.0123456789ab.tmp': '{"enabled": tr', // a write cut short
      'state.json.lock': '', // a lock its holder never released
      'state.json.bak': 'not ours\n', // the operator's own file
    };
    for (const [name, text] of Object.entries(leftovers)) {
      writeFileSync(join(dir, name), text);
      if (name !== 'state.json.presence.recent.json' && name !== 'state.json.bak')
        utimesSync(join(dir, name), old, old);
    }
    const before = readFileSync(`${state}.history.jsonl`, 'utf8');

    // While a process of the old layout may still run (its record is not forgotten), its data files stay in place.
    const early = await cliBytes(['status', '--json'], env);
    expect(early.code, early.err).to.equal(0);
    expect(existsSync(`${state}.history.jsonl`) && existsSync(`${state}.revision`)).to.equal(true);
    expect(existsSync(join(side, 'history.jsonl'))).to.equal(false);
    utimesSync(join(dir, 'state.json.presence.recent.json'), old, old); // that process is gone now

    const status = await cliBytes(['status', '--json'], env); // the first process of this version after it
    expect(status.code, status.err).to.equal(0);
    expect(appDir()).to.deep.equal(['package.json', 'state.json', 'state.json.bak', 'state.json.d']);
    expect(readFileSync(join(side, 'history.jsonl'), 'utf8')).to.equal(before);
    const shown = JSON.parse(status.out);
    expect(shown.active).to.equal(true);
    expect(Object.keys(shown.scopes)).to.deep.equal(['billing']); // the scope file moved
    expect((await cliBytes(['token', 'list'], env)).out).to.include('ci'); // the token table moved
    const history = JSON.parse((await cliBytes(['history', '--json'], env)).out) as Array<{ revision: number }>;
    expect(history.map((e) => e.revision)).to.deep.equal([2, 1]);
    expect((await cliBytes(['off'], env)).code).to.equal(0);
    expect(JSON.parse(readFileSync(state, 'utf8')).revision).to.equal(3); // the revision counter moved: no reuse
  });
});
