import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import ICAL from 'ical.js';
import Koa from 'koa';
import supertest from 'supertest';
import { MaintenanceError, type MaintenanceService, maintenanceRoutes } from '../src/index.js';
import { memoryService } from './helpers/app.js';
import { cliBytes, killCliProcesses } from './helpers/cli.js';
import { until } from './helpers/wait.js';

/** Characters a terminal or a line-based reader acts on: C0, DEL, C1, line/paragraph separators, bidi controls. */
const UNSAFE = /[\p{Cc}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** Line breaks as Python's str.splitlines() sees them (the `icalendar` package splits a feed with it). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are line breaks to that reader
const SPLITLINES = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

describe('escaping: the iCalendar feed', () => {
  const feed = async (s: MaintenanceService) => {
    const app = new Koa();
    app.use(maintenanceRoutes({ service: s, publicStatus: true, isSuperuser: () => false }).routes());
    const res = await supertest(app.callback()).get('/maintenance-mode/windows.ics').expect(200);
    return res.text;
  };

  it('keeps an injected VEVENT out of DESCRIPTION: line breaks become \\n, other controls are dropped, HTAB stays', async () => {
    const s = memoryService();
    const injected = 'END:VEVENT\r\nBEGIN:VEVENT\r\nUID:x@evil\r\nSUMMARY:Free pizza\r\nEND:VEVENT\r\nBEGIN:VEVENT';
    const message = [
      'Upgrade\rEND:VEVENT\rBEGIN:VEVENT\rSUMMARY:Free pizza', // bare CR
      injected.replace(/\r\n/g, '\u2028'), // LINE SEPARATOR
      injected.replace(/\r\n/g, '\u0085'), // NEXT LINE
      'para\u2029graph',
      'nul\u0000bell\u0007esc\u001b[31mdel\u007fcsi\u009bvt\u000bff\u000c',
      'tab\there',
    ].join(' ');
    await s.addWindow({
      id: 'patch',
      rrule: 'FREQ=WEEKLY',
      tz: 'UTC',
      start: '2030-01-06T02:00',
      durationMinutes: 30,
      message,
    });
    const raw = await feed(s);
    const expected = s.upcoming({ count: 100 }).length;
    expect(expected).to.be.greaterThan(1);

    const events = new ICAL.Component(ICAL.parse(raw)).getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
    expect(events).to.have.length(expected);
    expect(events.map((e) => e.summary)).to.not.include('Free pizza');
    const lines = injected.replace(/\r\n/g, '\n');
    expect(events[0]?.description).to.equal(
      [
        'Upgrade\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:Free pizza',
        lines,
        lines,
        'para\ngraph',
        'nulbellesc[31mdelcsivtff',
        'tab\there',
      ].join(' '),
    );
    // A reader that splits on every Unicode line break (Python's icalendar) sees the same events, none injected.
    const physical = raw.split(SPLITLINES);
    expect(physical.filter((l) => l === 'BEGIN:VEVENT')).to.have.length(expected);
    expect(physical.filter((l) => l.startsWith('SUMMARY:Free pizza'))).to.deep.equal([]);
    for (const line of raw.split('\r\n')) expect(line.replace(/\t/g, ''), JSON.stringify(line)).to.not.match(UNSAFE);
  });

  it('folds by octets: no line over 75, multi-byte characters never split, the text parses back whole', async () => {
    const s = memoryService();
    const message = `${'Ä'.repeat(37)}x${'😀'.repeat(30)}; a, b\\c ${'日本'.repeat(40)}`;
    await s.addWindow({
      id: 'long',
      rrule: 'FREQ=WEEKLY',
      tz: 'UTC',
      start: '2030-01-06T02:00',
      durationMinutes: 30,
      message,
    });
    const raw = await feed(s);
    const lines = raw.split('\r\n').slice(0, -1);
    const folded = lines.filter((l) => l.startsWith(' '));
    expect(folded.length).to.be.greaterThan(3);
    for (const line of lines) expect(Buffer.byteLength(line), line).to.be.at.most(75);
    expect(raw).to.not.include('\uFFFD');
    const [event] = new ICAL.Component(ICAL.parse(raw)).getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
    expect(event?.description).to.equal(message);
  });
});

describe('escaping: Slack notifications', () => {
  let server: Server | undefined;
  let service: MaintenanceService | undefined;
  afterEach(async () => {
    await service?.close();
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
    server = undefined;
  });

  it('escapes & < > in the text, so a message cannot ping @channel, mention a user or mask a link', async () => {
    const got: Array<{ text: string }> = [];
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => {
        raw += c;
      });
      req.on('end', () => {
        got.push(JSON.parse(raw));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    service = memoryService({ notify: [{ url: `http://127.0.0.1:${port}/slack`, format: 'slack' }] });
    await service.enable({
      message: '<!channel> ask <@U012AB3CD> or <!subteam^S123> at <https://evil.example|https://shop.example> & co',
    });
    await until(() => got.length === 1, 5000);
    expect(got[0]?.text).to.equal(
      'Maintenance has started. &lt;!channel&gt; ask &lt;@U012AB3CD&gt; or &lt;!subteam^S123&gt; at ' +
        '&lt;https://evil.example|https://shop.example&gt; &amp; co',
    );
  });
});

describe('escaping: what the CLI prints from the store', function () {
  this.timeout(60_000);
  let dir: string;
  let env: Record<string, string>;
  /** Someone who could write the store (or pick their USER) and wants to forge lines or drive the terminal. */
  const HOSTILE_USER = 'mallory\r\nMaintenance mode is off.\u001b[2K\u009b31m\u202Eevil';
  const SHOWN_USER = 'mallory\\r\\nMaintenance mode is off.\\u001b[2K\\u009b31m\\u202eevil';
  const MESSAGE = 'Back soon\rforged\u001b]0;title\u0007\u2028next\u0085line';
  const SHOWN_MESSAGE = '"Back soon\\rforged\\u001b]0;title\\u0007\\u2028next\\u0085line"';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-escaping-'));
    env = { MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json'), USER: HOSTILE_USER };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  after(killCliProcesses);

  /** Runs the CLI and returns its printed lines, each free of control characters. */
  const lines = async (args: string[]) => {
    const r = await cliBytes(args, env);
    expect(r.code, r.err).to.equal(0);
    expect(r.out.endsWith('\n'), JSON.stringify(r.out)).to.equal(true);
    const printed = r.out.slice(0, -1).split('\n');
    for (const line of printed) expect(line, JSON.stringify(line)).to.not.match(UNSAFE);
    return printed;
  };

  it('status and history show a stored updatedBy and message escaped, one line each', async () => {
    expect((await cliBytes(['on', '--message', MESSAGE], env)).code).to.equal(0);
    const status = await lines(['status']);
    expect(status).to.have.length(1);
    expect(status[0]).to.include(`by cli:${SHOWN_USER})`).and.include(`message: ${SHOWN_MESSAGE}`);
    const history = await lines(['history']);
    expect(history).to.have.length(1);
    expect(history[0]).to.include(`by cli:${SHOWN_USER} via cli`).and.include(SHOWN_MESSAGE);
  });

  it('fleet shows a forged instance host and version escaped, one row', async () => {
    const now = new Date().toISOString();
    const record = {
      id: 'forged',
      host: 'web-1\r\n* web-2  1  9.9.9\u001b[8m',
      pid: 4242,
      version: '1.0.0\u202E',
      startedAt: now,
      lastSeen: now,
      applied: 0,
      inFlight: 0,
      held: 0,
      intervalMs: 60_000,
    };
    mkdirSync(join(dir, 'state.json.d'), { recursive: true }); // the side directory, where the store keeps records
    writeFileSync(join(dir, 'state.json.d', 'presence.forged.json'), `${JSON.stringify(record)}\n`);
    const fleet = await lines(['fleet']);
    expect(fleet).to.have.length(3); // the summary, the head, one instance
    expect(fleet[2]).to.include('web-1\\r\\n* web-2  1  9.9.9\\u001b[8m').and.include('1.0.0\\u202e');
  });

  it('token list shows a stored label and creator escaped; upcoming and window add show a message escaped', async () => {
    expect((await cliBytes(['token', 'create', '--label', 'deploy-bot', '--allow', 'read'], env)).code).to.equal(0);
    const side = join(dir, 'state.json.d');
    const file = readdirSync(side).find((f) => f.includes('tokens')) as string;
    const text = readFileSync(join(side, file), 'utf8');
    writeFileSync(join(side, file), text.replace('"deploy-bot"', JSON.stringify('deploy\u001b[2J\u202Ebot\r\nforged')));
    const tokens = await lines(['token', 'list']);
    expect(tokens).to.have.length(1);
    expect(tokens[0]).to.include('deploy\\u001b[2J\\u202ebot\\r\\nforged: read').and.include(`by ${SHOWN_USER}`);

    const add = ['window', 'add', '--id', 'nightly', '--rrule', 'FREQ=DAILY', '--start', '02:00', '--duration', '30m'];
    expect(await lines([...add, '--message', MESSAGE])).to.have.length(1);
    const upcoming = await lines(['upcoming', '--count', '2']);
    expect(upcoming).to.have.length(2);
    for (const line of upcoming) expect(line).to.include(SHOWN_MESSAGE);
    expect(await lines(['window', 'list'])).to.have.length(1);
  });
});

describe('escaping: token labels', () => {
  const BAD = {
    'RIGHT-TO-LEFT OVERRIDE': 'deploy\u202Etob',
    'LEFT-TO-RIGHT EMBEDDING': 'a\u202Ab',
    'RIGHT-TO-LEFT ISOLATE': 'a\u2067b',
    'POP DIRECTIONAL ISOLATE': 'a\u2069b',
    'RIGHT-TO-LEFT MARK': 'a\u200Fb',
    'LEFT-TO-RIGHT MARK': 'a\u200Eb',
    'ARABIC LETTER MARK': 'a\u061Cb',
    'LINE SEPARATOR': 'a\u2028b',
    'NEXT LINE': 'a\u0085b',
    ESCAPE: 'a\u001b[2Jb',
  };
  for (const [name, label] of Object.entries(BAD)) {
    it(`refuses a label with ${name}, naming label and the fix`, async () => {
      const s = memoryService();
      const err = await s.createToken({ label, allow: ['read'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(MaintenanceError);
      expect((err as MaintenanceError).code).to.equal('ERR_MAINTENANCE_INVALID_OPTION');
      expect((err as Error).message)
        .to.include('Token label')
        .and.include('--label deploy-bot');
      expect((err as Error).message, 'the refused value is shown escaped').to.not.match(UNSAFE);
      expect(await s.tokens()).to.deep.equal([]);
    });
  }

  it('keeps labels in any script, emoji joined with ZWJ included', async () => {
    const s = memoryService();
    for (const label of ['Déploiement', 'نشر', 'デプロイ', '👩‍💻 bot']) {
      const made = await s.createToken({ label, allow: ['read'] });
      expect(made.info.label).to.equal(label);
    }
  });

  it('the CLI refuses it with exit 1 and says which field', async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(join(tmpdir(), 'kmm-label-'));
    try {
      const env = { MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json'), USER: 'ops' };
      const r = await cliBytes(['token', 'create', '--label', 'deploy\u202Etob', '--allow', 'read'], env);
      expect(r.code).to.equal(1);
      expect(r.err)
        .to.match(/^Error: Token label must be/)
        .and.include('\\u202e');
      expect(r.out).to.equal('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      killCliProcesses();
    }
  });
});
