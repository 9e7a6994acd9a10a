import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import type { Notification } from '../src/core/notify.js';
import { plannedWindows } from '../src/core/notify.js';
import { MaintenanceError, maintenanceApi, maintenanceRoutes } from '../src/index.js';
import { createNotifyClock } from '../src/service/notify-clock.js';
import { captureLogger, memoryService } from './helpers/app.js';
import { cliRunner } from './helpers/cli.js';
import { until } from './helpers/wait.js';

describe('recurring windows as operators define them', () => {
  it('accepts every zone the IANA database names, in any case, and stores its canonical spelling', async () => {
    const s = memoryService();
    const add = (id: string, tz: string) =>
      s.addWindow({ id, rrule: 'FREQ=WEEKLY;BYDAY=SU', tz, start: '03:00', durationMinutes: 30 });
    expect((await add('lower', 'europe/berlin')).tz).to.equal('Europe/Berlin');
    expect((await add('link', 'US/Pacific')).tz).to.equal('America/Los_Angeles');
    expect((await add('cet', 'CET')).tz).to.match(/^(CET|Europe\/\w+)$/);
    expect((await s.windows()).map((w) => w.tz)).to.deep.equal([
      'Europe/Berlin',
      'America/Los_Angeles',
      (await s.windows())[2]?.tz,
    ]);
    for (const tz of ['Mars/Olympus', '+01:00', '']) {
      const err = await add('bad', tz).catch((e) => e);
      expect(err, tz).to.be.instanceOf(MaintenanceError);
      expect(err.message).to.match(/^tz must be an IANA time zone/);
    }
  });
});

describe('recurring windows through the control API: every mistake at once', () => {
  it('names every bad field of a window body in one answer, and suggests the field an unknown one meant', async () => {
    const s = memoryService();
    const token = (await s.createToken({ label: 't', allow: ['windows', 'read'] })).token;
    const app = new Koa();
    app.silent = true;
    app.use(maintenanceApi({ service: s }).routes());
    const post = (body: object) =>
      supertest(app.callback())
        .post('/maintenance-mode/api/windows')
        .set('Authorization', `Bearer ${token}`)
        .send(body);
    const all = await post({
      rrule: 'FREQ=SOMETIMES',
      tz: 'Mars/Olympus',
      start: '2026-02-30T02:00',
      durationMinutes: 0,
    });
    expect(all.status).to.equal(400);
    expect(all.body.errors.map((e: { field: string }) => e.field).sort()).to.deep.equal([
      'durationMinutes',
      'rrule',
      'start',
      'tz',
    ]);
    const typo = await post({ rrule: 'FREQ=DAILY', tz: 'UTC', start: '03:00', durationMinutes: 5, mesage: 'x' });
    expect(typo.body.errors).to.deep.equal([
      { field: 'mesage', detail: 'mesage is not a field of this body; did you mean message?' },
    ]);
    expect(await s.windows()).to.deep.equal([]);
  });
});

describe('recurring windows from the command line', () => {
  it('confirms the next occurrence of the window just added, not the earliest of any', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-window-add-'));
    try {
      const cli = cliRunner(dir);
      const soon = new Date(Date.now() + 3_600_000).toISOString().slice(11, 16);
      expect(
        (await cli(['window', 'add', '--id', 't1', '--rrule', 'FREQ=DAILY', '--start', soon, '--duration', '5m'])).code,
      ).to.equal(0);
      const t2 = await cli([
        'window',
        'add',
        '--id',
        't2',
        '--rrule',
        'FREQ=YEARLY',
        '--start',
        '2027-06-01T12:00',
        '--duration',
        '5m',
      ]);
      expect(t2.out, t2.err).to.match(/^Added window t2; next occurrence 2027-06-01T12:00:00\.000Z to /);
      const history = JSON.parse((await cli(['history', '--json'])).out) as Array<{ by: string; reason?: string }>;
      expect(history.find((e) => e.reason === 'window added: t2')?.by).to.equal('cli:ops');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('recurring windows in the history', () => {
  it('records a window added or removed as what it was, quoting no unrelated message', async () => {
    const s = memoryService();
    await s.enable({ message: 'Upgrading the database', by: 'alice' });
    await s.addWindow({ id: 'nightly', rrule: 'FREQ=DAILY', tz: 'UTC', start: '03:00', durationMinutes: 5, by: 'bob' });
    await s.removeWindow('nightly', { by: 'bob' });
    const [removed, added] = (await s.history()).filter((e) => e.source === 'window'); // newest first
    expect(added).to.include({ by: 'bob', reason: 'window added: nightly' }).and.not.have.property('message');
    expect(removed).to.include({ reason: 'window removed: nightly' }).and.not.have.property('message');
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.state.user = { username: 'root', isSuperuser: true };
      await next();
    });
    app.use(maintenanceRoutes({ service: s }).routes());
    const page = await supertest(app.callback()).get('/maintenance-mode/').expect(200);
    const rows = page.text.slice(page.text.indexOf('id="history-heading"'));
    expect(rows).to.include('window added: nightly').and.include('window removed: nightly');
    expect(rows).to.not.match(/on → on[^<]*\(window/);
  });
});

describe('recurring windows: the notifications an occurrence causes by itself', () => {
  it('tells "disabled" when an occurrence ends by itself, though it is no longer upcoming then', async () => {
    const start = Date.now() - 60_000;
    const end = Date.now() + 300;
    const occurrence = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    const sent: Notification[] = [];
    const clock = createNotifyClock({
      notifier: { enabled: true, remindOffsets: [], send: (n) => sent.push(n), flush: async () => undefined },
      claims: { claim: async () => true },
      logger: captureLogger(),
      // As upcoming() answers: the occurrences that end after `from`.
      windows: (from) =>
        plannedWindows(
          { enabled: false },
          new Map(),
          from.getTime() < end ? [{ windowId: 'nightly', state: { enabled: true, ...occurrence } }] : [],
        ),
    });
    try {
      await until(() => sent.length > 0, 5000); // due in 300 ms; within the default 10 s test timeout
      expect(sent.map((n) => [n.event, n.windowId])).to.deep.equal([['disabled', 'nightly']]);
    } finally {
      clock.stop();
    }
  });
});
