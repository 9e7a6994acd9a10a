import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import ICAL from 'ical.js';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import supertest from 'supertest';
import { MaintenanceError, MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';
import { createTestApp, memoryService } from './helpers/app.js';
import { modulesLoadedBy } from './helpers/children.js';
import { cliRunner } from './helpers/cli.js';

/** The wall-clock time in UTC `minutes` from now, as a window's local start (`YYYY-MM-DDTHH:MM`). */
const utcLocal = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 16);
const starts = (s: MaintenanceService, from: string, count: number) =>
  s.upcoming({ from: new Date(from), count }).map((o) => o.start.toISOString());

describe('recurring windows: the calendar', () => {
  it('keeps 03:00 Europe/Berlin on the wall clock across the March change (02:00Z before, 01:00Z after)', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'sunday',
      rrule: 'FREQ=WEEKLY;BYDAY=SU',
      tz: 'Europe/Berlin',
      start: '2026-03-15T03:00',
      durationMinutes: 30,
    });
    expect(starts(s, '2027-03-15T00:00:00Z', 3)).to.deep.equal([
      '2027-03-21T02:00:00.000Z',
      '2027-03-28T01:00:00.000Z', // the change is that night, at 02:00 local
      '2027-04-04T01:00:00.000Z',
    ]);
  });

  it('moves a local time that does not exist forward by the gap, and takes the first of one that exists twice', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'nightly',
      rrule: 'FREQ=DAILY',
      tz: 'Europe/Berlin',
      start: '2026-01-01T02:30',
      durationMinutes: 20,
    });
    // 2027-03-28 02:30 does not exist in Berlin: 03:30 CEST (01:30Z); 2027-10-31 02:30 exists twice: the CEST one.
    expect(starts(s, '2027-03-27T12:00:00Z', 2)).to.deep.equal([
      '2027-03-28T01:30:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ]);
    expect(starts(s, '2027-10-30T12:00:00Z', 2)).to.deep.equal([
      '2027-10-31T00:30:00.000Z',
      '2027-11-01T01:30:00.000Z',
    ]);
  });

  it('finds the last day of the month and the second Tuesday', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'month-end',
      rrule: 'FREQ=MONTHLY;BYMONTHDAY=-1',
      tz: 'UTC',
      start: '2026-01-31T22:00',
      durationMinutes: 60,
    });
    await s.addWindow({
      id: 'patch-tuesday',
      rrule: 'FREQ=MONTHLY;BYDAY=2TU',
      tz: 'America/New_York',
      start: '2026-01-13T20:00',
      durationMinutes: 60,
    });
    const list = s.upcoming({ from: new Date('2027-01-20T00:00:00Z'), count: 4 });
    expect(list.map((o) => [o.window.id, o.start.toISOString()])).to.deep.equal([
      ['month-end', '2027-01-31T22:00:00.000Z'],
      ['patch-tuesday', '2027-02-10T01:00:00.000Z'], // Tuesday 9 February, 20:00 EST
      ['month-end', '2027-02-28T22:00:00.000Z'],
      ['patch-tuesday', '2027-03-10T01:00:00.000Z'], // Tuesday 9 March, 20:00 EST (summer time starts on the 14th)
    ]);
  });

  it('refuses bad definitions with an error naming the field', async () => {
    const s = memoryService();
    const base = { rrule: 'FREQ=DAILY', tz: 'UTC', start: '2026-01-01T02:00', durationMinutes: 30 };
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ rrule: 'FREQ=SOMETIMES' }, /^rrule needs FREQ=YEARLY, MONTHLY, WEEKLY or DAILY/],
      [{ rrule: 'FREQ=DAILY;BYHOUR=3' }, /^rrule has "BYHOUR=3"/],
      [{ tz: 'Mars/Olympus' }, /^tz must be an IANA time zone/],
      [{ start: '2026-02-30T02:00' }, /^start must be the first occurrence's local time/],
      [{ durationMinutes: 0 }, /^durationMinutes must be a whole number of minutes from 1/],
      [{ rrule: 'FREQ=DAILY;COUNT=3' }, /^rrule has no occurrence after/],
      [{ rrule: 'FREQ=DAILY;UNTIL=20260110T000000Z' }, /^rrule has no occurrence after/],
      [{ id: 'Bad Id' }, /^id must be lower-case/],
    ];
    for (const [change, message] of cases) {
      const err = await s.addWindow({ ...base, ...change } as never).catch((e) => e);
      expect(err, JSON.stringify(change)).to.be.instanceOf(MaintenanceError);
      expect(err.code).to.equal('ERR_MAINTENANCE_INVALID_WINDOW');
      expect(err.message, JSON.stringify(change)).to.match(message);
    }
    await s.addWindow({ ...base, id: 'one' });
    const taken = await s.addWindow({ ...base, id: 'one' }).catch((e) => e);
    expect(taken.message).to.match(/^id "one" is taken/);
    const none = await s.removeWindow('two').catch((e) => e);
    expect(none.message).to.equal('id "two" names no window (defined: one)');
  });
});

describe('recurring windows: an occurrence in progress', () => {
  it('blocks like an enabled state with its start and end, and disable() ends only that occurrence', async () => {
    const t = createTestApp();
    await t.service.addWindow({
      id: 'daily',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(-5),
      durationMinutes: 30,
      message: 'Nightly maintenance',
    });
    const blocked = await t.request().get('/shop').expect(503);
    expect(blocked.text).to.include('Nightly maintenance');
    const retryAfter = Date.parse(blocked.headers['retry-after'] as string); // the occurrence's end, as an HTTP date
    expect(retryAfter - Date.now()).to.be.within(24 * 60_000, 25 * 60_000);
    await t.service.disable({ by: 'ops' });
    await t.request().get('/shop').expect(200);
    const [entry] = await t.service.history(1);
    expect(entry?.reason).to.match(/^ended the occurrence of window daily \(.*\); the window recurs$/);
    const [next] = t.service.upcoming({ count: 1 });
    expect(next?.window.id).to.equal('daily');
    expect(next?.start.getTime()).to.be.above(Date.now() + 23 * 3_600_000); // tomorrow's is still there
  });

  it('announces the next occurrence within announceBeforeSeconds, and makes a read-only one block writes only', async () => {
    const t = createTestApp({ announceBeforeSeconds: 3600 }, (app) => {
      app.use(async (ctx, next) => {
        await next();
        if (ctx.status === 200) (ctx.body as Record<string, unknown>).upcoming = ctx.state.maintenanceUpcoming;
      });
    });
    await t.service.addWindow({
      id: 'soon',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(30),
      durationMinutes: 10,
      message: 'Soon',
    });
    const ahead = await t.request().get('/').expect(200);
    expect(ahead.body.upcoming).to.include({ message: 'Soon' });
    expect(Date.parse(ahead.body.upcoming.start) - Date.now()).to.be.within(28 * 60_000, 30 * 60_000);
    await t.service.removeWindow('soon');
    await t.service.addWindow({
      id: 'ro',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(-1),
      durationMinutes: 10,
      readOnly: true,
    });
    await t.request().get('/orders').expect(200);
    await t.request().post('/orders').expect(503);
  });

  it('keeps a request on the plain off path until an occurrence comes within the announce horizon', async () => {
    const t = createTestApp();
    await t.service.addWindow({
      id: 'later',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(30),
      durationMinutes: 10,
    });
    const r = await t.request().get('/').expect(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'state-off' });
    expect(t.service.lastKnownState().enabled).to.equal(false); // nothing scheduled in force: no announce configured
    t.service.announceAhead(3600_000);
    expect(t.service.lastKnownState()).to.include({ enabled: true, window: 'later' }); // now scheduled, not active
    await t.request().get('/').expect(200);
  });

  it('lets a manual enable win and a switch keep the windows', async () => {
    const t = createTestApp();
    await t.service.addWindow({
      id: 'later',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(120),
      durationMinutes: 30,
    });
    await t.service.enable({ message: 'Manual' });
    const res = await t.request().get('/').expect(503);
    expect(res.text).to.include('Manual');
    await t.service.disable();
    await t.request().get('/').expect(200);
    expect((await t.service.windows()).map((w) => w.id)).to.deep.equal(['later']);
  });

  it('puts only its scope in maintenance', async () => {
    const t = createTestApp({ scope: (ctx) => (ctx.path.startsWith('/billing') ? 'billing' : undefined) });
    await t.service.addWindow({
      id: 'billing-nightly',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: utcLocal(-1),
      durationMinutes: 10,
      scope: 'billing',
    });
    await t.request().get('/billing/invoices').expect(503);
    await t.request().get('/shop').expect(200);
  });
});

describe('recurring windows: where people see them', () => {
  const app = (service: MaintenanceService) => {
    const a = new Koa();
    a.use(maintenanceRoutes({ service, publicStatus: true, isSuperuser: () => false }).routes());
    a.use(maintenance({ service }));
    a.use((ctx) => {
      ctx.body = 'ok';
    });
    return supertest(a.callback());
  };

  it('lists the next occurrences in public.json, public fields only and no dry runs', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'weekly',
      rrule: 'FREQ=WEEKLY',
      tz: 'Europe/Berlin',
      start: '2026-01-04T03:00',
      durationMinutes: 30,
      message: { en: 'Weekly upkeep', de: 'Wöchentliche Wartung' },
      by: 'alice',
    });
    await s.addWindow({
      id: 'rehearsal',
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: '2026-01-01T01:00',
      durationMinutes: 5,
      dryRun: true,
    });
    const res = await app(s).get('/maintenance-mode/public.json').set('accept-language', 'de').expect(200);
    expect(res.body.windows, JSON.stringify(res.body)).to.have.length(10);
    const [first] = res.body.windows;
    expect(Object.keys(first).sort()).to.deep.equal(['end', 'message', 'start', 'window']);
    expect(first.message).to.equal('Wöchentliche Wartung');
    expect(res.body.windows.every((w: { window: string }) => w.window === 'weekly')).to.equal(true);
    expect(JSON.stringify(res.body)).to.not.include('alice');
  });

  it('serves windows.ics, an iCalendar feed a calendar parses back, one event per occurrence', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'patch',
      rrule: 'FREQ=MONTHLY;BYDAY=2TU',
      tz: 'America/New_York',
      start: '2026-01-13T20:00',
      durationMinutes: 90,
      message: 'Patches; reboots, then checks',
      scope: 'billing',
    });
    const res = await app(s).get('/maintenance-mode/windows.ics').expect(200);
    expect(res.headers['content-type']).to.equal('text/calendar; charset=utf-8');
    const calendar = new ICAL.Component(ICAL.parse(res.text));
    const events = calendar.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
    const expected = s.upcoming({ count: 100 });
    expect(events).to.have.length(expected.length);
    expect(events[0]?.startDate.toJSDate().getTime()).to.equal(expected[0]?.start.getTime());
    expect(events[0]?.endDate.toJSDate().getTime()).to.equal(expected[0]?.end.getTime());
    expect(events[0]?.summary).to.equal('Maintenance (billing)');
    expect(events[0]?.description).to.equal('Patches; reboots, then checks');
    expect(new Set(events.map((e) => e.uid)).size).to.equal(events.length);
  });

  it('is managed from the CLI: window add, list, upcoming, rm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-windows-cli-'));
    try {
      const cli = cliRunner(dir, { USER: 'ops', MAINTENANCE_MODE_STATE_FILE_PATH: join(dir, 'state.json') });
      const add = await cli([
        'window',
        'add',
        '--id',
        'sunday',
        '--rrule',
        'FREQ=WEEKLY;BYDAY=SU',
        '--tz',
        'Europe/Berlin',
        '--start',
        '2026-01-04T03:00',
        '--duration',
        '30m',
        '--message',
        'Sunday upkeep',
      ]);
      expect(add.code, add.err).to.equal(0);
      expect(add.out).to.match(
        /^Added window sunday; next occurrence \S+ to \S+ \(\d{4}-\d{2}-\d{2} 03:00 Europe\/Berlin\) "Sunday upkeep"\.\n$/,
      );
      // The rule in words first, the raw rule and first date beside it, and the next occurrence.
      expect((await cli(['window', 'list'])).out).to.match(
        /^sunday {2}every week on Sunday at 3 AM Europe\/Berlin, 30 min {2}\[FREQ=WEEKLY;BYDAY=SU; from 2026-01-04T03:00\]; next \d{4}-\d\d-\d\dT\S+Z\n$/,
      );
      const next = JSON.parse((await cli(['upcoming', '--count', '3', '--json'])).out);
      expect(next).to.have.length(3);
      for (const o of next) {
        const local = new Date(o.start).toLocaleString('en-GB', {
          timeZone: 'Europe/Berlin',
          weekday: 'short',
          hour: '2-digit',
          minute: '2-digit',
        });
        expect(local).to.equal('Sun 03:00');
      }
      const bad = await cli([
        'window',
        'add',
        '--rrule',
        'FREQ=DAILY',
        '--tz',
        'Nowhere/Land',
        '--start',
        '2026-01-01T00:00',
        '--duration',
        '1h',
      ]);
      expect(bad.code).to.equal(1);
      expect(bad.err).to.match(/^Error: tz must be an IANA time zone/);
      expect((await cli(['window', 'rm', 'sunday'])).out).to.equal('Removed window sunday.\n');
      expect((await cli(['upcoming'])).out).to.equal('No upcoming windows.\n');
      expect((await cli(['window', 'rm'])).code).to.equal(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('recurring windows: the status page', () => {
  const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });
  const pageApp = () => {
    const service = memoryService();
    const a = new Koa();
    a.use(bodyParser());
    a.use(async (ctx, next) => {
      const raw = ctx.get('x-user');
      if (raw) ctx.state.user = JSON.parse(raw);
      await next();
    });
    a.use(maintenanceRoutes({ service }).routes());
    return { service, request: () => supertest(a.callback()) };
  };

  it('lists the windows with their next occurrences, adds and removes them, and refuses cross-site forms', async () => {
    const t = pageApp();
    await t
      .request()
      .post('/maintenance-mode/windows?next=/maintenance-mode/')
      .set('x-user', ALICE)
      .type('form')
      .send({
        id: 'sunday',
        rrule: 'FREQ=WEEKLY;BYDAY=SU',
        tz: 'Europe/Berlin',
        start: '03:00',
        durationMinutes: '30',
        message: 'Sunday upkeep',
      })
      .expect(302);
    const [w] = await t.service.windows();
    expect(w).to.include({
      id: 'sunday',
      tz: 'Europe/Berlin',
      durationMinutes: 30,
      message: 'Sunday upkeep',
      by: 'alice',
    });
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text)
      .to.include('id="window-sunday"')
      .and.match(/\d{4}-\d{2}-\d{2} 03:00 Europe\/Berlin/);
    const bad = await t
      .request()
      .post('/maintenance-mode/windows')
      .set('x-user', ALICE)
      .set('accept', 'application/json')
      .send({ rrule: 'FREQ=DAILY', tz: 'Nowhere', start: '03:00', durationMinutes: 5 })
      .expect(400);
    expect(bad.body.message).to.match(/^The window was not added: tz must be an IANA time zone/);
    await t
      .request()
      .post('/maintenance-mode/windows/sunday/remove')
      .set('x-user', ALICE)
      .set('sec-fetch-site', 'cross-site')
      .expect(403);
    await t
      .request()
      .post('/maintenance-mode/windows/sunday/remove')
      .set('x-user', JSON.stringify({ username: 'bob' }))
      .expect(403);
    expect(await t.service.windows()).to.have.length(1);
    await t
      .request()
      .post('/maintenance-mode/windows/sunday/remove?next=/maintenance-mode/')
      .set('x-user', ALICE)
      .expect(302);
    expect(await t.service.windows()).to.have.length(0);
  });
});

describe('recurring windows: what loading the package costs', () => {
  it('loads the Temporal polyfill only when a window is expanded, not when the package is imported', function () {
    this.timeout(60_000); // two Node processes loading the package, each allowed 25 s
    const loaded = (code: string) => modulesLoadedBy(code, /node_modules\/@js-temporal/);
    expect(loaded("require('./dist/index.js')")).to.equal(0);
    const expand =
      "const { occurrencesOf } = require('./dist/service/recurrence.js'); " +
      "occurrencesOf({ id: 'w', rrule: 'FREQ=WEEKLY;BYDAY=SU', tz: 'Europe/Paris', start: '2026-01-04T02:00', durationMinutes: 60 }, new Date(), 2)";
    expect(loaded(expand)).to.be.above(0);
  });
});
