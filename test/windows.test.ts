import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import supertest from 'supertest';
import {
  type CliIo,
  type DecisionTrace,
  hashSecret,
  MaintenanceError,
  main,
  maintenance,
  maintenanceBanner,
  maintenanceRoutes,
} from '../src/index.js';
import { createTestApp, inSeconds, memoryService, userFromHeader } from './helpers/app.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });

describe('windows: dry run', () => {
  it('blocks nothing, reports the rule that would have blocked, and lets exemptions report their own rule', async () => {
    const seen: DecisionTrace[] = [];
    const t = createTestApp({ exposeDecision: true, ignoreStaff: true, onDecision: (_ctx, d) => seen.push(d) }, (app) =>
      app.use(async (ctx, next) => {
        const raw = ctx.get('x-user');
        if (raw) ctx.state.user = JSON.parse(raw);
        await next();
      }),
    );
    await t.service.enable({ dryRun: true, message: 'rehearsal' });
    const visitor = await t.request().post('/checkout').expect(200);
    expect(visitor.body.decision).to.deep.equal({ blocked: false, rule: 'dry-run', wouldBlock: 'maintenance' });
    expect(visitor.body.maintenanceMode).to.equal(false);
    expect(visitor.headers['x-maintenance-decision']).to.equal('pass; rule=dry-run; would=maintenance');
    const staff = await t.request().get('/').set('x-user', '{"isStaff":true}').expect(200);
    expect(staff.body.decision).to.deep.equal({ blocked: false, rule: 'ignoreStaff' });
    expect(seen.map((d) => d.rule)).to.deep.equal(['dry-run', 'ignoreStaff']);
    expect((await t.service.history())[0]).to.include({ to: 'dry-run' });
    await t.service.enable({ message: 'the real window' });
    await t.request().get('/').expect(503);
    expect(seen.at(-1)).to.deep.equal({ blocked: true, rule: 'maintenance' });
  });

  it('calls onDecision only while a state is active, and reports a hook that throws without failing the request', async () => {
    let calls = 0;
    const t = createTestApp({
      onDecision: () => {
        calls++;
        throw new Error('metrics down');
      },
    });
    await t.request().get('/').expect(200);
    expect(calls).to.equal(0);
    await t.service.enable();
    await t.request().get('/').expect(503);
    expect(calls).to.equal(1);
    expect(t.errors.map((e) => e.message)).to.deep.equal(['metrics down']);
  });

  it('is switched with the CLI (on --dry-run) and rejected when not a boolean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-dry-'));
    try {
      const out: string[] = [];
      const io: CliIo = {
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: () => 0 },
        env: {},
        cwd: dir,
      };
      expect(await main(['on', '--dry-run', '--json'], io)).to.equal(0);
      expect(JSON.parse(out.join(''))).to.include({ active: true, dryRun: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const err = await memoryService()
      .enable({ dryRun: 'yes' as never })
      .catch((e) => e);
    expect(err)
      .to.be.instanceOf(MaintenanceError)
      .and.have.property('message')
      .that.match(/dryRun must be true/);
  });

  it('lets a real scoped window block while the global state only rehearses', async () => {
    const t = createTestApp({ scope: 'billing' });
    await t.service.enable({ dryRun: true, message: 'global rehearsal' });
    await t.service.enable({ scope: 'billing', message: 'billing down' });
    const r = await t.request().get('/').set('Accept', 'text/html').expect(503);
    expect(r.text).to.include('billing down');
  });
});

describe('windows: announce ahead', () => {
  it('puts the upcoming window on requests within announceBeforeSeconds, and not before', async () => {
    const t = createTestApp({ announceBeforeSeconds: 3600 }, (app) => {
      app.use(async (ctx, next) => {
        await next();
        (ctx.body as Record<string, unknown>).upcoming = ctx.state.maintenanceUpcoming;
      });
    });
    const start = inSeconds(1800);
    const end = inSeconds(5400);
    await t.service.enable({ start, end, message: 'Maintenance tonight' });
    const r = await t.request().get('/').expect(200);
    const { startLabel, endLabel, ...rest } = r.body.upcoming;
    expect(rest).to.deep.equal({
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      message: 'Maintenance tonight',
      startText: new Date(start).toUTCString(),
      endText: new Date(end).toUTCString(),
      lang: 'en',
      label: 'Scheduled maintenance:',
      fullStop: '.',
    });
    // What the banner shows: the reader's way of writing a date, the zone named (not an HTTP date).
    const readable = /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d [AP]M UTC$/;
    expect(startLabel).to.match(readable);
    expect(endLabel).to.match(readable);
    // In the visitor's language: the message of several languages and the banner's label.
    await t.service.enable({ start, end, message: { en: 'Tonight', ja: '今夜' } });
    const ja = await t.request().get('/').set('Accept-Language', 'ja').expect(200);
    expect(ja.body.upcoming).to.include({
      message: '今夜',
      lang: 'ja',
      label: 'メンテナンスのお知らせ：',
      fullStop: '。',
    });
    expect(ja.body.upcoming.startLabel).to.match(/^\d{4}年\d{1,2}月\d{1,2}日.*UTC$/);
    expect(maintenanceBanner(ja.body.upcoming)).to.include('メンテナンスのお知らせ：').and.include('。');
    await t.service.enable({ start: inSeconds(7200) });
    expect((await t.request().get('/').expect(200)).body).to.not.have.property('upcoming');
  });

  it('keeps a scheduled dry run private: no announcement to requests, nothing in public.json', async () => {
    const t = createTestApp({ announceBeforeSeconds: 3600 }, (app) => {
      app.use(async (ctx, next) => {
        await next();
        (ctx.body as Record<string, unknown>).upcoming = ctx.state.maintenanceUpcoming;
      });
    });
    await t.service.enable({ start: inSeconds(1800), message: 'Rehearsal', dryRun: true });
    expect((await t.request().get('/').expect(200)).body).to.not.have.property('upcoming');
    const koa = new Koa();
    koa.use(maintenanceRoutes({ service: t.service, publicStatus: true }).routes());
    const pub = await supertest(koa.callback()).get('/maintenance-mode/public.json').expect(200);
    expect(pub.body).to.deep.equal({ active: false });
    await t.service.enable({ start: inSeconds(1800), message: 'The real one' });
    expect((await t.request().get('/').expect(200)).body.upcoming).to.include({ message: 'The real one' });
  });

  it('announces a scope’s window to that scope’s requests, naming the scope', async () => {
    const t = createTestApp({ announceBeforeSeconds: 600, scope: (ctx) => ctx.get('x-tenant') || undefined }, (app) => {
      app.use(async (ctx, next) => {
        await next();
        (ctx.body as Record<string, unknown>).upcoming = ctx.state.maintenanceUpcoming;
      });
    });
    await t.service.enable({ scope: 'acme', start: inSeconds(120) });
    expect((await t.request().get('/').set('x-tenant', 'acme')).body.upcoming).to.include({ scope: 'acme' });
    expect((await t.request().get('/').set('x-tenant', 'globex')).body).to.not.have.property('upcoming');
  });

  it('renders the banner partial with the window in UTC, escaped, and nothing without a window', () => {
    const start = '2026-12-02T02:00:00.000Z';
    const html = maintenanceBanner({
      start,
      end: '2026-12-02T03:00:00.000Z',
      message: 'DB <upgrade>',
      startText: new Date(start).toUTCString(),
      endText: 'Wed, 02 Dec 2026 03:00:00 GMT',
    });
    expect(html).to.include('role="status"');
    expect(html).to.include('<time datetime="2026-12-02T02:00:00.000Z">Wed, 02 Dec 2026 02:00:00 GMT</time>');
    // A window from maintenance() carries its readable labels, which the banner shows instead.
    const labelled = maintenanceBanner({
      start,
      startText: 'Wed, 02 Dec 2026 02:00:00 GMT',
      startLabel: 'Dec 2, 2026, 02:00 AM UTC',
    });
    expect(labelled).to.include('<time datetime="2026-12-02T02:00:00.000Z">Dec 2, 2026, 02:00 AM UTC</time>');
    expect(html).to.include('DB &lt;upgrade&gt;');
    expect(maintenanceBanner(undefined)).to.equal('');
  });

  it('refuses a bad announceBeforeSeconds or hold at startup, naming the option', () => {
    expect(() => maintenance({ announceBeforeSeconds: -1 })).to.throw(MaintenanceError, /announceBeforeSeconds/);
    expect(() => maintenance({ hold: { maxMs: 0 } })).to.throw(MaintenanceError, /hold\.maxMs/);
    expect(() => maintenance({ hold: { maxMs: 100, maxHeld: 0 } })).to.throw(MaintenanceError, /hold\.maxHeld/);
    expect(() => maintenance({ hold: { maxMs: 100, max: 1 } as never })).to.throw(MaintenanceError, /maxMs|maxHeld/);
  });
});

describe('windows: the public status', () => {
  function app(publicStatus = true) {
    const service = memoryService();
    const koa = new Koa();
    koa.use(maintenance({ service }));
    koa.use(maintenanceRoutes({ service, publicStatus }).routes());
    return { service, request: () => supertest(koa.callback()) };
  }

  it('answers everyone, during maintenance too, without the author or the bypass secret', async () => {
    const t = app();
    const end = inSeconds(600);
    await t.service.enable({ end, message: 'Moving racks', by: 'ops', bypassHash: hashSecret('s'.repeat(20)) });
    const r = await t.request().get('/maintenance-mode/public.json').expect(200);
    expect(r.body).to.deep.equal({ active: true, end: new Date(end).toISOString(), message: 'Moving racks' });
    expect(r.headers['access-control-allow-origin']).to.equal('*');
    expect(r.headers['cache-control']).to.match(/no-store/);
    expect(r.text).to.not.include('ops').and.not.include('bypass');
  });

  it('shows an upcoming window, and a scope’s view with ?scope=', async () => {
    const t = app();
    const start = inSeconds(3600);
    await t.service.enable({ start, message: 'Tonight' });
    await t.service.enable({ scope: 'billing', message: 'Billing paused' });
    const r = await t.request().get('/maintenance-mode/public.json').expect(200);
    expect(r.body).to.deep.equal({
      active: false,
      upcoming: { start: new Date(start).toISOString(), message: 'Tonight' },
    });
    const billing = await t.request().get('/maintenance-mode/public.json?scope=billing').expect(200);
    expect(billing.body).to.deep.equal({ active: true, message: 'Billing paused', scope: 'billing' });
    await t.request().get('/maintenance-mode/public.json?scope=../x').expect(400);
  });

  it('is not served unless publicStatus is on', async () => {
    await app(false).request().get('/maintenance-mode/public.json').expect(404);
    expect(() => maintenanceRoutes({ publicStatus: 'yes' as never })).to.throw(MaintenanceError, /publicStatus/);
  });
});

describe('windows: planning from the status page', () => {
  function routesApp() {
    const service = memoryService();
    const koa = new Koa();
    koa.use(bodyParser());
    koa.use(userFromHeader);
    koa.use(maintenance({ service, announceBeforeSeconds: 3600 }));
    koa.use(maintenanceRoutes({ service }).routes());
    return { service, request: () => supertest(koa.callback()) };
  }
  const utcLocal = (iso: string) => iso.slice(0, 19); // what a datetime-local input sends

  it('schedules a window from the form (UTC times), read-only or dry run, for a scope', async () => {
    const t = routesApp();
    const start = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000).toISOString();
    const end = new Date(Date.parse(start) + 3_600_000).toISOString();
    await t
      .request()
      .post('/maintenance-mode/on?next=/maintenance-mode/')
      .set('x-user', ALICE)
      .type('form')
      .send({ start: utcLocal(start), end: utcLocal(end), message: 'Tonight', readOnly: 'on', scope: '' })
      .expect(302);
    expect(await t.service.getState()).to.include({ enabled: true, start, end, message: 'Tonight', readOnly: true });
    await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .type('form')
      .send({ start: utcLocal(start), dryRun: 'on', scope: 'billing' })
      .expect(302);
    expect(await t.service.getState('billing')).to.include({ enabled: true, start, dryRun: true });
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text).to.include('id="plan-start"').and.include('Scheduled');
  });

  it('makes a bypass link for the window, shows it once on the page, and stores only its hash', async () => {
    const t = routesApp();
    const r = await t
      .request()
      .post('/maintenance-mode/on?next=/maintenance-mode/')
      .set('x-user', ALICE)
      .set('Host', 'shop.example')
      .type('form')
      .send({ start: utcLocal(inSeconds(60)), bypass: 'on' })
      .expect(200);
    const link = (/value="(http:\/\/shop\.example\/[0-9a-f]{32})"/.exec(r.text) as RegExpExecArray)[1];
    const secret = link.split('/').at(-1) as string;
    expect((await t.service.getState()).bypassHash).to.equal(hashSecret(secret));
    const again = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(again.text).to.not.include(secret);
    expect(JSON.stringify(await t.service.history())).to.not.include(secret);
  });

  it('refuses an invalid window with 400 and the reason, and keeps forms CSRF-safe', async () => {
    const t = routesApp();
    const bad = await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .type('form')
      .send({ start: utcLocal(inSeconds(600)), end: utcLocal(inSeconds(60)) })
      .expect(400);
    expect(bad.text).to.match(/must be before end/);
    await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ start: utcLocal(inSeconds(60)), bypass: 'on' })
      .expect(403);
    expect((await t.service.getState()).enabled).to.equal(false);
  });
});
