import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import {
  MaintenanceError,
  type MaintenanceService,
  maintenance,
  maintenanceApi,
  maintenanceRoutes,
} from '../src/index.js';
import { captureLogger, memoryService } from './helpers/app.js';

/** A rule rrule-temporal can only expand by walking every period from DTSTART (COUNT with BYSETPOS). */
const COSTLY = 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1,2,3,4,5,6,7;COUNT=9999999';
/** The local date-time in UTC `days` from now, as a window's start (`YYYY-MM-DDTHH:MM`). */
const utcDaysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 16);

async function refusal(s: MaintenanceService, change: Record<string, unknown>) {
  const base = { rrule: 'FREQ=DAILY', tz: 'UTC', start: '03:00', durationMinutes: 30 };
  const err = await s.addWindow({ ...base, ...change } as never).catch((e) => e);
  expect(err, JSON.stringify(change)).to.be.instanceOf(MaintenanceError);
  expect(err.code, err.message).to.equal('ERR_MAINTENANCE_INVALID_WINDOW');
  return err.message as string;
}

describe('recurring windows: rules that cannot stall the app', () => {
  it('refuses a start more than ten years back, or ten years ahead, naming start', async () => {
    const s = memoryService();
    expect(await refusal(s, { start: '0000-01-01T00:00' })).to.match(/^start .*within 10 years of now/);
    expect(await refusal(s, { rrule: COSTLY, start: '1900-01-01T00:00' })).to.match(/^start /);
    const ahead = new Date(Date.now() + 11 * 365 * 86_400_000).toISOString().slice(0, 16);
    expect(await refusal(s, { start: ahead })).to.match(/^start /);
    expect(await s.windows()).to.deep.equal([]);
  });

  it('refuses a COUNT the budget cannot expand, saying to give UNTIL instead', async () => {
    const s = memoryService();
    expect(await refusal(s, { rrule: COSTLY, start: utcDaysAgo(7) })).to.match(/^rrule .*COUNT.*UNTIL/);
  });

  it('refuses rules that never occur as an invalid window, never a plain error', async () => {
    const s = memoryService();
    for (const rrule of [
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30',
      'FREQ=MONTHLY;BYDAY=MO;BYSETPOS=7',
      'FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1,2,3,4,5,6,7',
    ]) {
      expect(await refusal(s, { rrule }), rrule).to.match(/^rrule has no occurrence/);
    }
  });

  it('still finds rare occurrences and keeps COUNT exact', async () => {
    const s = memoryService();
    await s.addWindow({
      id: 'leap',
      rrule: 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29',
      tz: 'UTC',
      start: '03:00',
      durationMinutes: 5,
    });
    const [leap] = s.upcoming({ count: 1 });
    expect(leap?.start.getUTCMonth()).to.equal(1);
    expect(leap?.start.getUTCDate()).to.equal(29);
    // Three Mondays from one to two weeks back: the last is ahead, the first two are past.
    const start = new Date(Date.now() - 7 * 86_400_000);
    while (start.getUTCDay() !== 1) start.setUTCDate(start.getUTCDate() - 1);
    const local = `${start.toISOString().slice(0, 10)}T03:00`;
    await s.addWindow({
      id: 'three',
      rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=3',
      tz: 'UTC',
      start: local,
      durationMinutes: 5,
    });
    const three = s.upcoming({ count: 10, from: new Date(`${local}Z`) }).filter((o) => o.window.id === 'three');
    expect(s.upcoming({ count: 10 }).filter((o) => o.window.id === 'three')).to.have.length(1);
    expect(three.map((o) => o.start.toISOString())).to.deep.equal(
      [0, 7, 14].map((d) => new Date(Date.parse(`${local}Z`) + d * 86_400_000).toISOString()),
    );
  });

  it('answers the control API with a 400 problem naming rrule, never 500', async () => {
    const s = memoryService();
    const token = (await s.createToken({ label: 't', allow: ['windows', 'read'] })).token;
    const app = new Koa();
    app.silent = true;
    app.use(maintenanceApi({ service: s }).routes());
    const res = await supertest(app.callback())
      .post('/maintenance-mode/api/windows')
      .set('Authorization', `Bearer ${token}`)
      .send({ rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', tz: 'UTC', start: '03:00', durationMinutes: 30 });
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.type).to.equal('urn:koa-maintenance-mode:problem:invalid_window');
    expect(res.body.errors?.[0]?.field).to.equal('rrule');
  });

  it('keeps serving when a stored window holds a rule that cannot be expanded (written by hand)', async () => {
    const keyv = new Keyv();
    const window = { id: 'forged', rrule: COSTLY, tz: 'UTC', start: '1900-01-01T00:00', durationMinutes: 30 };
    await keyv.set('maintenance_mode_state', { enabled: false, windows: [window] });
    const logger = captureLogger();
    const s = memoryService({ store: keyv, logger });
    const app = new Koa();
    app.use(maintenance({ service: s }));
    app.use((ctx) => {
      ctx.body = 'the site';
    });
    const request = supertest(app.callback());
    for (let i = 0; i < 3; i++) await request.get('/').expect(200, 'the site');
    expect(s.upcoming({ count: 5 })).to.deep.equal([]);
    expect(logger.warnings.filter((w) => w.includes('forged'))).to.have.length(1);
  });

  it('refuses a window message as enable() refuses one: its type, its length, its size', async () => {
    const s = memoryService();
    expect(await refusal(s, { message: 12345 })).to.match(/^message must be/);
    expect(await refusal(s, { message: 'x'.repeat(2_000_000) })).to.match(/^message is 2000000 characters long/);
    const tags = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'sv', 'da', 'fi', 'cs'];
    const many = Object.fromEntries(tags.map((tag) => [tag, 'y'.repeat(900)]));
    expect(await refusal(s, { message: many })).to.match(/^message is \d+ bytes in all/);
    expect(await s.windows()).to.deep.equal([]);
  });
});

describe('recurring windows: feeds computed once per revision', () => {
  /** CPU microseconds `n` sequential requests of `path` cost (client and server share this process). */
  async function cpuOf(request: () => supertest.Agent, path: string, n: number): Promise<number> {
    await request().get(path).expect(200);
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await request().get(path).expect(200);
    const used = process.cpuUsage(before);
    return used.user + used.system;
  }

  it('serves windows.ics and public.json with 100 windows at most a few times the cost of a page', async () => {
    const s = memoryService();
    for (let i = 0; i < 100; i++) {
      await s.addWindow({
        id: `m${i}`,
        rrule: `FREQ=MONTHLY;BYMONTHDAY=${(i % 28) + 1}`,
        tz: 'Europe/Berlin',
        start: '02:00',
        durationMinutes: 30,
        message: `Upkeep number ${i}`,
      });
    }
    const app = new Koa();
    app.use(maintenanceRoutes({ service: s, publicStatus: true, isSuperuser: () => false }).routes());
    app.use(maintenance({ service: s }));
    app.use((ctx) => {
      ctx.body = 'the site';
    });
    const request = () => supertest(app.callback());
    const page = await cpuOf(request, '/', 30);
    const ics = await cpuOf(request, '/maintenance-mode/windows.ics', 30);
    const json = await cpuOf(request, '/maintenance-mode/public.json', 30);
    // Before: ~190x and ~25x. Generous bounds: this is a count of work, not a speed goal.
    expect(ics / page, `ics ${ics} us vs page ${page} us`).to.be.below(8);
    expect(json / page, `public.json ${json} us vs page ${page} us`).to.be.below(8);
  });
});
