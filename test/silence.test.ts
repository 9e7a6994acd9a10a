import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { nextSilenceLook, silenceBasis, silenceDue } from '../src/core/silence.js';
import {
  MaintenanceError,
  MaintenanceService,
  type MaintenanceServiceOptions,
  maintenance,
  type SilenceTarget,
} from '../src/index.js';
import {
  ALERTMANAGER_BINARY,
  ALERTMANAGER_PACKAGE,
  type Silence,
  startAlertmanager,
  type TestAlertmanager,
} from './helpers/alertmanager.js';
import { captureLogger, inSeconds } from './helpers/app.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

const SHOP = [
  { name: 'service', value: 'shop' },
  { name: 'env', value: 'prod|staging', isRegex: true },
  { name: 'severity', value: 'info', isEqual: false },
];

/** A listener on `port` (of a stopped Alertmanager) that drops every connection and counts them. */
async function dropConnections(port: number) {
  let attempts = 0;
  const server = createServer((socket) => {
    attempts++;
    socket.destroy();
  });
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    attempts: () => attempts,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** The message of what `fn` throws. */
function thrown(fn: () => unknown): MaintenanceError {
  try {
    fn();
  } catch (err) {
    return err as MaintenanceError;
  }
  throw new Error('nothing was thrown');
}

describe('silence: the option is checked when the service is made', () => {
  const made = (silence: unknown) =>
    thrown(() => new MaintenanceService({ silence, logger: captureLogger() } as MaintenanceServiceOptions));
  const target = (over: Partial<Record<keyof SilenceTarget, unknown>>) => [
    { alertmanagerUrl: 'http://alertmanager:9093', matchers: SHOP, ...over },
  ];

  it('refuses an alertmanagerUrl that is not an http(s) URL, naming it', () => {
    for (const url of ['ftp://alertmanager:21', 'alertmanager:9093', '', 42, undefined, 'http://am:9093/?x=1']) {
      const err = made(target({ alertmanagerUrl: url }));
      expect(err).to.be.instanceOf(MaintenanceError);
      expect(err.code).to.equal('ERR_MAINTENANCE_INVALID_OPTION');
      expect(err.message).to.match(/^silence\[0\]\.alertmanagerUrl must be an http:\/\/ or https:\/\/ URL/);
    }
  });

  it('refuses an empty matcher list, and only negative matchers (they would silence every other alert)', () => {
    expect(made(target({ matchers: [] })).message).to.match(/^silence\[0\]\.matchers must list at least one matcher/);
    const negative = made(target({ matchers: [{ name: 'service', value: 'shop', isEqual: false }] })).message;
    expect(negative).to.match(/^silence\[0\]\.matchers has only negative matchers \(isEqual: false\)/);
  });

  it('refuses a positive matcher that matches every alert: .*, .+, an empty value; naming the matcher', () => {
    const broad = (m: object) => made(target({ matchers: [SHOP[0], m] })).message;
    expect(broad({ name: 'env', value: '.*', isRegex: true })).to.match(
      /^silence\[0\]\.matchers\[1\]\.value matches the empty value, so every alert without the label "env"/,
    );
    expect(broad({ name: 'env', value: '.+', isRegex: true })).to.match(
      /^silence\[0\]\.matchers\[1\]\.value matches any value, which would silence every alert with the label "env"/,
    );
    expect(broad({ name: 'env', value: '' })).to.match(/^silence\[0\]\.matchers\[1\]\.value is empty/);
    expect(broad({ name: 'env', value: '(', isRegex: true })).to.match(/is not a valid regular expression/);
    expect(broad({ name: 'env value', value: 'x' })).to.match(
      /^silence\[0\]\.matchers\[1\]\.name must be a label name/,
    );
    expect(broad({ name: 'env', value: 'x', isRegexp: true })).to.match(/isRegexp/);
    // A negative matcher that matches everything silences nothing more: it is allowed.
    expect(
      () =>
        new MaintenanceService({
          silence: target({
            matchers: [SHOP[0], { name: 'x', value: '.*', isRegex: true, isEqual: false }],
          }) as SilenceTarget[],
          logger: captureLogger(),
        }),
    ).to.not.throw();
  });

  it('refuses a bad scope or comment, a second silence equal to the first, and a silence that is no array', () => {
    expect(made(target({ scope: 'no spaces' })).message).to.match(/^silence\[0\]\.scope must be a scope name/);
    expect(made(target({ comment: ' ' })).message).to.match(/^silence\[0\]\.comment must be a non-empty string/);
    const twice = [...target({}), { alertmanagerUrl: 'http://alertmanager:9093/', matchers: [...SHOP].reverse() }];
    expect(made(twice).message).to.match(/^silence\[1\] repeats silence\[0\]/);
    expect(made({ alertmanagerUrl: 'http://alertmanager:9093', matchers: SHOP }).message).to.match(
      /^silence must be an array/,
    );
  });

  it('never shows the credentials of an alertmanagerUrl in its error', () => {
    const err = made(target({ alertmanagerUrl: 'ftp://user:hunter2@alertmanager:21' }));
    expect(err.message).to.not.include('hunter2');
  });
});

describe('silence: when a silence is due, and until when', () => {
  const MIN = 60_000;
  const t0 = Date.parse('2026-06-01T10:07:00Z'); // 7 minutes into a 15-minute step

  it('an open end reaches a rolling hour ahead, moved at each 15-minute step; a dry run is due nothing', () => {
    const on = { enabled: true, revision: 3 };
    const due = silenceDue([on], t0);
    expect(due).to.deep.equal({ active: true, open: true, endsAt: Date.parse('2026-06-01T11:00:00Z') });
    expect(silenceDue([on], t0 + 8 * MIN)).to.deep.include({ endsAt: Date.parse('2026-06-01T11:15:00Z') });
    expect(nextSilenceLook([on], due, t0, [])).to.equal(Date.parse('2026-06-01T10:15:00Z'));
    expect(silenceDue([{ ...on, dryRun: true }], t0)).to.deep.equal({ active: false });
    expect(silenceDue([{ ...on, leaseUntil: '2026-06-01T10:08:00Z', leaseMs: 60_000 }], t0)).to.deep.include({
      open: true,
    });
  });

  it('a fixed end is the latest end of the active states; the next look is the next start, end or lease', () => {
    const site = { enabled: true, end: '2026-06-01T10:30:00Z' };
    const scope = { enabled: true, start: '2026-06-01T10:20:00Z', end: '2026-06-01T11:30:00Z' };
    const due = silenceDue([site, scope], t0);
    expect(due).to.deep.equal({ active: true, open: false, endsAt: Date.parse(site.end) });
    expect(nextSilenceLook([site, scope], due, t0, [])).to.equal(Date.parse('2026-06-01T10:15:00Z')); // the step
    expect(silenceDue([site, scope], Date.parse('2026-06-01T10:25:00Z'))).to.deep.include({
      endsAt: Date.parse(scope.end),
    });
    const off = silenceDue([{ enabled: false }], t0);
    expect(nextSilenceLook([{ enabled: false }], off, t0, [t0 + 5 * MIN, t0 - MIN])).to.equal(t0 + 5 * MIN);
    expect(nextSilenceLook([{ enabled: false }], off, t0, [])).to.equal(undefined);
  });

  it('the same states at the same revision and step give one basis on every instance; a new revision another', () => {
    const states = [{ enabled: true, revision: 4 }];
    const due = silenceDue(states, t0);
    expect(silenceBasis(states, due, t0, 4)).to.equal(silenceBasis([{ enabled: true, revision: 4 }], due, t0 + MIN, 4));
    expect(silenceBasis(states, due, t0, 4)).to.not.equal(silenceBasis(states, due, t0, 5));
    expect(silenceBasis(states, due, t0, 4)).to.not.equal(
      silenceBasis(states, silenceDue(states, t0 + 8 * MIN), t0 + 8 * MIN, 4),
    );
  });
});

describe('silence: Alertmanager silences while maintenance is active (a real Alertmanager)', function () {
  this.timeout(4 * PATIENCE_MS);
  let am: TestAlertmanager;
  let dir: string;
  const services: MaintenanceService[] = [];

  before(async function () {
    requireBinary(this, ALERTMANAGER_BINARY, ALERTMANAGER_PACKAGE);
    am = await startAlertmanager();
  });
  after(async () => {
    await am?.dispose();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-silence-'));
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    // The next test starts with no live silence (each test's matchers are its own, but a clean slate reads better).
    for (const s of await am.live()) await fetch(`${am.url}/api/v2/silence/${s.id}`, { method: 'DELETE' });
    rmSync(dir, { recursive: true, force: true });
  });

  /** A service on the test's state file; `silence` makes it a serving instance with silences. */
  const service = (silence?: SilenceTarget[], logger = captureLogger()) => {
    const s = new MaintenanceService({
      stateFilePath: join(dir, 'state.json'),
      logger,
      ...(silence ? { silence } : {}),
    });
    services.push(s);
    if (silence) s.joinFleet({ intervalMs: 60_000 });
    return s;
  };
  /** The silences of one test: those with its matcher `test=<tag>`. */
  const ofTest = (list: Silence[], tag: string) => list.filter((s) => s.matchers.some((m) => m.value === tag));
  const live = async (tag: string) => ofTest(await am.live(), tag);
  const silenceFor = (tag: string, over: Partial<SilenceTarget> = {}): SilenceTarget => ({
    alertmanagerUrl: am.url,
    matchers: [{ name: 'test', value: tag }, ...SHOP],
    ...over,
  });

  it('a switch on silences with the matchers, until its end (or an hour ahead); off expires it; the history names it', async () => {
    const s = service([silenceFor('switch', { comment: 'Deploy of the shop' })]);
    await s.enable({ by: 'ops', message: 'Deploying' });
    await until(async () => (await live('switch')).length === 1, PATIENCE_MS);
    const [open] = await live('switch');
    expect(open.status.state).to.equal('active');
    expect(open.comment).to.equal('Deploy of the shop');
    expect(open.matchers).to.deep.equal([
      { name: 'test', value: 'switch', isRegex: false, isEqual: true },
      { name: 'service', value: 'shop', isRegex: false, isEqual: true },
      { name: 'env', value: 'prod|staging', isRegex: true, isEqual: true },
      { name: 'severity', value: 'info', isRegex: false, isEqual: false },
    ]);
    const ahead = Date.parse(open.endsAt) - Date.now();
    expect(ahead).to.be.within(44 * 60_000, 60 * 60_000); // open-ended: a rolling hour, extended while it lasts

    const end = inSeconds(600);
    await s.enable({ by: 'ops', message: 'Deploying', end });
    await until(async () => (await live('switch'))[0]?.endsAt === end, PATIENCE_MS);
    expect((await live('switch'))[0].id).to.equal(open.id); // moved in place: the same silence

    await s.disable({ by: 'ops' });
    await until(async () => (await live('switch')).length === 0, PATIENCE_MS);
    const all = ofTest(await am.silences(), 'switch');
    expect(all.map((x) => [x.id, x.status.state])).to.deep.equal([[open.id, 'expired']]);
    const notes = (await s.history(10)).filter((e) => e.source === 'silence');
    expect(notes.map((e) => e.silenceId)).to.deep.equal([open.id, open.id]);
    expect(notes[1].reason).to.match(
      new RegExp(`^alerts silenced until .+: silence ${open.id} in Alertmanager at ${am.url}$`),
    );
    expect(notes[0].reason).to.equal(`alerts unsilenced: silence ${open.id} expired in Alertmanager at ${am.url}`);
  });

  it('an app with presence: false silences too: maintenance() starts them on its first request', async () => {
    const s = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), silence: [silenceFor('alone')] });
    services.push(s);
    const app = new Koa();
    app.use(maintenance({ service: s, presence: false }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    await supertest(app.callback()).get('/').expect(200);
    await s.enable({ by: 'ops' });
    await until(async () => (await live('alone')).length === 1, PATIENCE_MS);
    await s.disable({ by: 'ops' });
    await until(async () => (await live('alone')).length === 0, PATIENCE_MS);
  });

  it('a scheduled window silences from its start to its end by itself, with no write', async () => {
    const s = service([silenceFor('window')]);
    const [start, end] = [inSeconds(3), inSeconds(6)];
    await s.enable({ start, end, by: 'ops' });
    await until(async () => (await live('window')).length === 1, PATIENCE_MS);
    const [silence] = await live('window');
    expect(Date.parse(silence.startsAt)).to.be.at.least(Date.parse(start) - 1000); // not before the window starts
    expect(silence.endsAt).to.equal(end);
    await until(async () => (await live('window')).length === 0, PATIENCE_MS);
    expect(ofTest(await am.silences(), 'window')).to.have.length(1);
  });

  it("a recurring window's occurrence silences until its end; the window removed, the silence is expired", async () => {
    const s = service([silenceFor('recurring')]);
    const start = new Date().toISOString().slice(0, 16); // this minute, in UTC: the occurrence is in progress
    const window = await s.addWindow({ rrule: 'FREQ=DAILY', tz: 'UTC', start, durationMinutes: 2, by: 'ops' });
    await until(async () => (await live('recurring')).length === 1, PATIENCE_MS);
    const [silence] = await live('recurring');
    expect(Date.parse(silence.endsAt)).to.equal(Date.parse(`${start}:00Z`) + 2 * 60_000);
    await s.removeWindow(window.id, { by: 'ops' });
    await until(async () => (await live('recurring')).length === 0, PATIENCE_MS);
  });

  it('a scoped silence follows its scope (and the whole site); a dry run silences nothing', async () => {
    const s = service([silenceFor('site'), silenceFor('billing', { scope: 'billing' })]);
    await s.enable({ dryRun: true, by: 'ops' }); // the whole site rehearses: nothing silenced
    await s.enable({ scope: 'billing', by: 'ops' });
    await until(async () => (await live('billing')).length === 1, PATIENCE_MS);
    await s.disable({ scope: 'billing', by: 'ops' });
    await until(async () => (await live('billing')).length === 0, PATIENCE_MS);
    expect(ofTest(await am.silences(), 'site')).to.deep.equal([]);
    await s.enable({ by: 'ops' }); // the whole site: billing is in maintenance too
    await until(async () => (await live('billing')).length === 1 && (await live('site')).length === 1, PATIENCE_MS);
    await s.disable({ by: 'ops' });
    await until(async () => (await live('billing')).length + (await live('site')).length === 0, PATIENCE_MS);
  });

  it('four instances on one store make one silence, not four; an instance that did not make it expires it', async () => {
    const target = [silenceFor('fleet')];
    const four = [service(target), service(target), service(target), service(target)];
    const cli = service(); // switches, like the CLI: no silences of its own
    await cli.enable({ by: 'cli' });
    await until(async () => (await live('fleet')).length === 1, PATIENCE_MS);
    await cli.enable({ by: 'cli', message: 'A new message: each instance looks again, one acts' });
    const [made] = await live('fleet');
    await Promise.all(four.map((x) => x.close())); // the silence outlives the instances
    expect((await live('fleet')).map((x) => x.id)).to.deep.equal([made.id]);

    const late = service(target); // never made it: finds it in Alertmanager
    await cli.disable({ by: 'cli' });
    await until(async () => (await live('fleet')).length === 0, PATIENCE_MS);
    expect(ofTest(await am.silences(), 'fleet').map((x) => x.id)).to.deep.equal([made.id]);
    const notes = (await late.history(20)).filter((e) => e.source === 'silence').map((e) => e.silenceId);
    expect(notes).to.deep.equal([made.id, made.id]); // made once, expired once
  });

  it('a store that pushes nothing (plain keyv): an instance sees a switch made elsewhere once its cache is due', async () => {
    const keyv = new Keyv();
    const watcher = new MaintenanceService({ store: keyv, logger: captureLogger(), silence: [silenceFor('keyv')] });
    const writer = new MaintenanceService({ store: keyv, logger: captureLogger() });
    services.push(watcher, writer);
    watcher.joinFleet(); // no fleet on plain keyv, but this instance serves: it looks after the silences
    await writer.enable({ by: 'ops', end: inSeconds(600) });
    await until(async () => (await live('keyv')).length === 1, PATIENCE_MS);
    await writer.disable({ by: 'ops' });
    await until(async () => (await live('keyv')).length === 0, PATIENCE_MS);
  });

  it('Alertmanager down: the silence is made once it answers again (same port), never twice; logged once', async () => {
    const target = [silenceFor('outage')];
    const loggers = [captureLogger(), captureLogger()];
    const [a] = loggers.map((logger) => service(target, logger));
    const said = () => loggers.flatMap((l) => l.warnings.filter((w) => w.includes('Alertmanager')));
    await am.stop();
    const down = await dropConnections(am.port); // counts the attempts while Alertmanager is down
    try {
      await a.enable({ by: 'ops' });
      await until(() => down.attempts() >= 3, 2 * PATIENCE_MS); // the first, then retries after 1 s and 2 s
      expect(said()).to.have.length.at.least(1);
    } finally {
      await down.close();
      await am.restart();
    }
    await until(async () => (await live('outage')).length === 1, 2 * PATIENCE_MS);
    await until(() => loggers.some((l) => l.infos.some((i) => i.includes('is up to date again'))), PATIENCE_MS);
    expect(said()[0]).to.match(
      new RegExp(`^koa-maintenance-mode: the silence of the site's maintenance in Alertmanager at ${am.url} could not`),
    );
    // Once per outage on each instance that talked to Alertmanager (one made the silence; the other may have looked
    // at the state it started with), however many attempts failed.
    for (const l of loggers) expect(l.warnings.filter((w) => w.includes('Alertmanager'))).to.have.length.at.most(1);
    await a.disable({ by: 'ops' });
    await until(async () => (await live('outage')).length === 0, PATIENCE_MS);
    expect(ofTest(await am.silences(), 'outage')).to.have.length(1);
  });
});
