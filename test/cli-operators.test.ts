import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { USAGE } from '../src/cli/cli.js';
import { cliRunner } from './helpers/cli.js';

describe('maintenance-mode CLI: what an operator trips over', () => {
  let dir: string;
  let run: ReturnType<typeof cliRunner>;
  const state = () => JSON.parse(readFileSync(join(dir, 'maintenance_mode_state.json'), 'utf8'));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-cli-ops-'));
    run = cliRunner(dir, { USER: 'ops' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a dry run real with a plain on, and says so (not "already on")', async () => {
    await run(['on', '--dry-run', '--message', 'Rehearsal', '--end', '+1h']);
    expect(state()).to.include({ dryRun: true, message: 'Rehearsal' });
    const r = await run(['on']);
    expect(r.code).to.equal(0);
    expect(r.out)
      .to.match(/^Maintenance mode is now on \(until /)
      .and.include('The dry run is now real: requests are blocked.');
    expect(state()).to.not.have.property('dryRun');
    expect(state()).to.include({ message: 'Rehearsal' }); // its message and end stay
    expect(state().end).to.be.a('string');
  });

  it('keeps the fields an on does not give while on: a new end keeps the message', async () => {
    await run(['on', '--message', 'Upgrading the database', '--read-only']);
    await run(['on', '--end', '+2h']);
    expect(state()).to.include({ enabled: true, message: 'Upgrading the database', readOnly: true });
    expect(Date.parse(state().end) - Date.now()).to.be.within(7_190_000, 7_201_000);
    await run(['on', '--read-write']);
    expect(state()).to.not.have.property('readOnly');
    expect(state()).to.include({ message: 'Upgrading the database' });
  });

  it('starts a scheduled window now with a plain on, keeping its end and message', async () => {
    await run(['on', '--start', '+1h', '--end', '+2h', '--message', 'Tonight']);
    const r = await run(['on']);
    expect(r.out).to.include('The scheduled window starts now.');
    expect(state()).to.include({ message: 'Tonight' }).and.not.have.property('start');
  });

  it('takes times from now (+30m, +2h, +1d) as well as ISO-8601, and says what a bad one should look like', async () => {
    const r = await run(['on', '--start', '+1d', '--end', '+1d2h']);
    expect(r.code, r.err).to.equal(0);
    expect(Date.parse(state().start) - Date.now()).to.be.within(86_390_000, 86_401_000);
    expect(Date.parse(state().end) - Date.parse(state().start)).to.be.within(7_199_000, 7_201_000);
    const bad = await run(['on', '--end', '+soon']);
    expect(bad.code).to.equal(1);
    expect(bad.err).to.match(/^Error: end must be a valid Date or ISO-8601 string/);
  });

  it('suggests the option meant for a misspelt one, in one clear line', async () => {
    const r = await run(['on', '--mesage', 'x']);
    expect(r.code).to.equal(2);
    expect(r.err.split('\n')[0]).to.equal('unknown option --mesage, did you mean --message?');
    expect((await run(['stauts'])).err.split('\n')[0]).to.equal('Unknown command "stauts"; did you mean "status"?');
    expect((await run(['on', '--end'])).err.split('\n')[0]).to.equal('--end needs a value.');
  });

  it('has help as a command', async () => {
    const r = await run(['help']);
    expect(r).to.include({ code: 0, out: USAGE, err: '' });
    // No date that will pass: every example time is relative, or far ahead.
    for (const [date] of USAGE.matchAll(/\d{4}-\d\d-\d\dT[\d:]+Z/g))
      expect(Date.parse(date)).to.be.above(Date.now() + 3 * 365 * 86_400_000);
    expect(USAGE).to.include('--end +1h');
  });

  it('says "would be blocked" for why in a dry run', async () => {
    await run(['on', '--dry-run']);
    const r = await run(['why', '/shop']);
    expect(r.out.split('\n')[0]).to.equal(
      'GET /shop passes: this is a dry run; it would be blocked (rule: maintenance).',
    );
    const json = JSON.parse((await run(['why', '/shop', '--json'])).out);
    expect(json).to.deep.equal({
      path: '/shop',
      method: 'GET',
      blocked: false,
      rule: 'dry-run',
      wouldBlock: 'maintenance',
    });
  });

  it('names the output file, not the state file, when render cannot write it', async () => {
    await run(['on']);
    const r = await run(['render', '--out', '/nonexistent/x.html']);
    expect(r.code).to.equal(1);
    expect(r.err).to.equal(
      'Error: Cannot write the --out file /nonexistent/x.html (ENOENT). Make its directory exist and be writable by ' +
        'this process, or choose an --out path in a directory that exists.\n',
    );
  });

  it("shows a message in several languages in the reader's language, naming the others", async () => {
    await run(['on', '--message', 'Back at 3', '--message-in', 'de=Um 3 zurück', '--message-in', 'ja=3時に再開']);
    const de = cliRunner(dir, { USER: 'ops', LANG: 'de_DE.UTF-8' });
    const status = await de(['status']);
    expect(status.out).to.include('message: "Um 3 zurück" (de; also in en, ja)');
    expect((await run(['status'])).out).to.include('message: "Back at 3" (en; also in de, ja)');
    const history = await de(['history']);
    expect(history.out).to.include('"Um 3 zurück" (de; also in en, ja)').and.not.include('{');
  });
});
