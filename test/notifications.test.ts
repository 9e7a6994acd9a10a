import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { plannedEvents, plannedWindows } from '../src/core/notify.js';
import {
  MaintenanceError,
  MaintenanceService,
  type MaintenanceServiceOptions,
  type NotifyTarget,
} from '../src/index.js';
import { captureLogger, inSeconds, memoryService } from './helpers/app.js';
import { cliProcess } from './helpers/cli.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/** A post the receiver got. */
interface Received {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

/** A real local webhook receiver; `answer` decides each status (default 200). */
async function startReceiver(answer: (n: number, req: IncomingMessage) => number | Promise<number> = () => 200) {
  const got: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', async () => {
      got.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw || '{}') });
      const status = await answer(++n, req);
      if (status === 302) res.setHeader('Location', 'http://127.0.0.1:9/elsewhere');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    got,
    url: `http://127.0.0.1:${port}`,
    port,
    events: () => got.map((g) => g.body.event ?? g.body.text),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const SECRET = 'a-secret-of-32-characters-long!!';

describe('notifications: webhooks', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const services: MaintenanceService[] = [];
  const make = (notify: NotifyTarget[], options: MaintenanceServiceOptions = {}) => {
    const s = memoryService({ notify, ...options });
    services.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    await receiver?.close();
  });

  it('posts a signed JSON event for a switch, without making the switch wait for the webhook', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    receiver = await startReceiver(async () => {
      await held; // the webhook answers only after enable() has returned
      return 200;
    });
    const s = make([{ url: `${receiver.url}/hooks/maint`, secret: SECRET }]);
    await s.enable({ message: 'Migrating', end: inSeconds(600), by: 'ops' });
    await until(() => receiver.got.length === 1, 5000);
    release();
    const [post] = receiver.got;
    expect(post.path).to.equal('/hooks/maint');
    expect(post.headers['content-type']).to.equal('application/json');
    expect(post.headers['x-maintenance-event']).to.equal('enabled');
    expect(post.body).to.include({ event: 'enabled' });
    expect(post.body.state).to.include({ enabled: true, message: 'Migrating', updatedBy: 'ops' });
    expect(Math.abs(Date.parse(post.body.at as string) - Date.now())).to.be.below(5000);
    const m = /^t=(\d+),sha256=([0-9a-f]{64})$/.exec(String(post.headers['x-maintenance-signature']));
    expect(m, String(post.headers['x-maintenance-signature'])).to.not.equal(null);
    const [, t, mac] = m as RegExpExecArray;
    expect(mac).to.equal(createHmac('sha256', SECRET).update(`${t}.${post.raw}`).digest('hex'));
    expect(Math.abs(Number(t) - Date.now() / 1000)).to.be.below(5);
  });

  it('tells the events each webhook asks for, in its format (Slack: { text })', async () => {
    receiver = await startReceiver();
    const s = make([
      { url: `${receiver.url}/json`, events: ['disabled'] },
      { url: `${receiver.url}/slack`, format: 'slack' },
    ]);
    await s.enable({ message: 'Back at 3am' });
    await s.enable({ message: 'Still at it' }); // a message edited: no event
    await s.disable();
    await s.enable({ start: inSeconds(3600), end: inSeconds(7200), message: 'Planned' });
    await until(() => receiver.got.length === 4, 5000);
    await sleep(100);
    const json = receiver.got.filter((g) => g.path === '/json').map((g) => g.body);
    expect(json.map((b) => b.event)).to.deep.equal(['disabled']);
    expect(json[0].state).to.include({ enabled: false });
    const slack = receiver.got.filter((g) => g.path === '/slack').map((g) => g.body);
    expect(slack).to.have.length(3);
    expect(slack[0]).to.have.keys(['text']);
    expect(slack[0].text).to.equal('Maintenance has started. Back at 3am');
    expect(slack[1].text).to.equal('Maintenance has ended.');
    expect(slack[2].text).to.match(/^Maintenance is scheduled from .+ GMT\. Planned Until .+ GMT\.$/);
  });

  it('retries a failed post with the same delivery id, and logs a lasting failure once with the origin only', async function () {
    this.timeout(2 * PATIENCE_MS);
    receiver = await startReceiver((n, req) => (req.url?.startsWith('/flaky') && n > 1 ? 200 : 500));
    const logger = captureLogger();
    const secretUrl = `http://hook-user:hook-pass@127.0.0.1:${receiver.port}/always/T0000/B0000/s3cr3tpath?token=abc`;
    const s = make([{ url: `${receiver.url}/flaky` }, { url: secretUrl }], { logger });
    const failures: unknown[] = [];
    s.on('notify-failed', (f) => failures.push(f));
    await s.enable();
    await until(() => failures.length === 1, PATIENCE_MS);
    const flaky = receiver.got.filter((g) => g.path === '/flaky');
    expect(flaky).to.have.length(2);
    expect(flaky[0].headers['x-maintenance-delivery']).to.equal(flaky[1].headers['x-maintenance-delivery']);
    const always = receiver.got.filter((g) => g.path.startsWith('/always'));
    expect(always).to.have.length(3);
    // Credentials in the URL become Basic auth (fetch refuses a URL that holds them); the path and query are kept.
    expect(always[0].path).to.equal('/always/T0000/B0000/s3cr3tpath?token=abc');
    expect(always[0].headers.authorization).to.equal(`Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`);
    expect(failures[0]).to.deep.equal({
      event: 'enabled',
      url: `http://127.0.0.1:${receiver.port}/…`,
      error: 'answered 500',
      attempts: 3,
    });
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.include(`http://127.0.0.1:${receiver.port}/…`).and.include('after 3 attempts');
    for (const secret of ['hook-pass', 'hook-user', 's3cr3tpath', 'abc', 'T0000']) {
      expect(logger.warnings[0]).to.not.include(secret);
      expect(JSON.stringify(failures)).to.not.include(secret);
    }
  });

  it('follows no redirect: the body never goes to a host that was not configured', async function () {
    this.timeout(2 * PATIENCE_MS);
    const elsewhere = await startReceiver();
    receiver = await startReceiver(() => 302);
    const s = make([{ url: `${receiver.url}/moved` }]);
    const failures: Array<{ error: string }> = [];
    s.on('notify-failed', (f) => failures.push(f));
    await s.enable();
    await until(() => failures.length === 1, PATIENCE_MS);
    expect(failures[0].error).to.equal('answered 302, a redirect (not followed)');
    expect(elsewhere.got).to.have.length(0);
    await elsewhere.close();
  });

  it('refuses bad notify options when the service is made, naming the entry and never showing a credential', () => {
    const bad = (notify: unknown) => {
      try {
        memoryService({ notify } as MaintenanceServiceOptions);
      } catch (err) {
        expect(err).to.be.instanceOf(MaintenanceError);
        return (err as MaintenanceError).message;
      }
      throw new Error('no error');
    };
    expect(bad([{ url: 'ftp://user:pw@files.example/drop' }]))
      .to.match(/^notify\[0\]\.url must be an http/)
      .and.not.include('pw');
    expect(bad([{ url: 'https://a.example' }, { url: 'https://b.example', events: ['started'] }])).to.match(
      /^notify\[1\]\.events/,
    );
    expect(bad([{ url: 'https://a.example', secret: 'short' }]))
      .to.match(/^notify\[0\]\.secret must be .* 16 characters/)
      .and.not.include('short');
    expect(bad([{ url: 'https://a.example', remindBeforeMinutes: [0] }])).to.match(/remindBeforeMinutes/);
    expect(bad([{ url: 'https://a.example', formt: 'slack' }])).to.match(/Did you mean `format`/);
    expect(bad({ url: 'https://a.example' })).to.match(/^notify must be an array/);
  });

  it('posts what a CLI run switched before the process exits (notify in the config file)', async function () {
    this.timeout(2 * PATIENCE_MS);
    receiver = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'kmm-notify-cli-'));
    try {
      const config = join(dir, 'maintenance.config.json');
      writeFileSync(
        config,
        JSON.stringify({ stateFilePath: join(dir, 'state.json'), notify: [{ url: receiver.url }] }),
      );
      const run = await cliProcess(
        ['on', '--message', 'From the CLI', '--config', config],
        { USER: 'ops' },
        PATIENCE_MS,
      );
      expect(run.code, run.err).to.equal(0);
      expect(receiver.got.map((g) => g.body.event)).to.deep.equal(['enabled']);
      expect(receiver.got[0].body.state).to.include({ message: 'From the CLI', updatedBy: 'cli:ops' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('notifications: the events planned windows cause', () => {
  it('gives a scheduled state, a state on until a time and an occurrence their reminders, start and end', () => {
    const t = Date.parse('2030-01-01T00:00:00Z');
    const iso = (ms: number) => new Date(t + ms).toISOString();
    const windows = plannedWindows(
      { enabled: true, start: iso(60_000), end: iso(120_000), message: 'Planned' },
      new Map([
        ['billing', { enabled: true, end: iso(30_000) }],
        ['shop', { enabled: true }], // on until switched off: nothing planned
        ['dry', { enabled: true, dryRun: true, start: iso(1000) }], // a rehearsal is never told
      ]),
      [{ windowId: 'nightly', scope: 'api', state: { enabled: true, start: iso(90_000), end: iso(150_000) } }],
    );
    const events = plannedEvents(windows, [10_000]).map((e) => [
      e.due - t,
      e.notification.event,
      e.notification.scope ?? '',
    ]);
    expect(events).to.deep.equal([
      [30_000, 'disabled', 'billing'],
      [50_000, 'reminder', ''],
      [60_000, 'enabled', ''],
      [80_000, 'reminder', 'api'],
      [90_000, 'enabled', 'api'],
      [120_000, 'disabled', ''],
      [150_000, 'disabled', 'api'],
    ]);
    const claims = plannedEvents(windows, [10_000]).map((e) => e.claim);
    expect(new Set(claims).size).to.equal(claims.length); // one claim name per event: each is sent once
    expect(
      plannedEvents(windows, [10_000]).find((e) => e.notification.scope === 'api')?.notification.windowId,
    ).to.equal('nightly');
  });
});
