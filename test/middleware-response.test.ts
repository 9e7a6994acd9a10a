import { expect } from 'chai';
import Keyv from 'keyv';
import { MaintenanceService } from '../src/index.js';
import { captureLogger, countingKeyv, createTestApp, inSeconds, unreadableKeyv } from './helpers/app.js';

const NO_CACHE = 'max-age=0, no-cache, no-store, must-revalidate, private';

describe('maintenance(): the maintenance answer', () => {
  it('passes requests while off and sets ctx.state.maintenanceMode = false', async () => {
    const t = createTestApp();
    const r = await t.request().get('/').expect(200);
    expect(r.body).to.include({ ok: true, maintenanceMode: false });
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'state-off' });
  });

  it('sets ctx.state.maintenanceMode = true on requests an exemption lets through', async () => {
    const t = createTestApp({ ignoreUrls: ['/ok'] });
    await t.service.enable();
    expect((await t.request().get('/ok').expect(200)).body.maintenanceMode).to.equal(true);
  });

  it('answers 503 HTML with Retry-After 3600 and no-cache headers by default', async () => {
    const t = createTestApp();
    await t.service.enable();
    const r = await t.request().get('/').expect(503);
    expect(r.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(r.headers['retry-after']).to.equal('3600');
    expect(r.headers['cache-control']).to.equal(NO_CACHE);
    expect(r.text).to.match(/<title>Down for maintenance<\/title>/);
  });

  it('sends Expires no later than now on every kind of maintenance answer (page, JSON, problem, redirect)', async () => {
    const kinds: Array<[object, number]> = [
      [{ responseType: 'html' }, 503],
      [{ responseType: 'json' }, 503],
      [{ responseType: 'problem' }, 503],
      [{ redirectUrl: '/maintenance' }, 302],
    ];
    for (const [options, status] of kinds) {
      const t = createTestApp(options);
      await t.service.enable();
      const before = Date.now();
      const r = await t.request().get('/orders').expect(status);
      expect(r.headers['cache-control'], JSON.stringify(options)).to.equal(NO_CACHE);
      const expires = Date.parse(r.headers.expires);
      expect(expires, JSON.stringify(options)).to.be.a('number').and.not.NaN;
      expect(expires, JSON.stringify(options)).to.be.at.most(before);
      expect(expires, JSON.stringify(options)).to.be.above(before - 5000);
    }
  });

  it('sends the scheduled end as an HTTP-date Retry-After instead of retryAfter', async () => {
    const t = createTestApp({ retryAfter: 60 });
    const end = new Date(Math.ceil((Date.now() + 7200_000) / 1000) * 1000);
    await t.service.enable({ end });
    const r = await t.request().get('/').expect(503);
    expect(r.headers['retry-after']).to.equal(end.toUTCString());
  });

  it('sends no Retry-After for retryAfter null or 0, and the configured seconds otherwise', async () => {
    for (const [retryAfter, header] of [
      [null, undefined],
      [0, undefined],
      [120, '120'],
    ] as const) {
      const t = createTestApp({ retryAfter });
      await t.service.enable();
      const r = await t.request().get('/').expect(503);
      expect(r.headers['retry-after']).to.equal(header);
    }
  });

  it('uses statusCode', async () => {
    const t = createTestApp({ statusCode: 200 });
    await t.service.enable();
    const r = await t.request().get('/').expect(200);
    expect(r.text).to.include('<!doctype html>');
  });

  it('answers JSON with maintenance, message, end, retryAfter and the getContext fields', async () => {
    const t = createTestApp({
      responseType: 'json',
      getContext: async (ctx) => ({ path: ctx.path, support: 'ops@example.com' }),
    });
    const end = inSeconds(1800);
    await t.service.enable({ message: 'DB upgrade', end });
    const r = await t.request().get('/orders').expect(503);
    expect(r.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(r.headers['cache-control']).to.equal(NO_CACHE);
    expect(r.body).to.deep.equal({
      maintenance: true,
      message: 'DB upgrade',
      end: new Date(end).toISOString(),
      retryAfter: r.body.retryAfter,
      path: '/orders',
      support: 'ops@example.com',
    });
    expect(r.body.retryAfter).to.be.within(1795, 1800);
  });

  it('answers JSON without optional fields when there is no message, end or retryAfter', async () => {
    const t = createTestApp({ responseType: 'json', retryAfter: null });
    await t.service.enable();
    expect((await t.request().get('/').expect(503)).body).to.deep.equal({ maintenance: true });
  });

  it("responseType 'auto' follows Accept and varies on it", async () => {
    const t = createTestApp({ responseType: 'auto' });
    await t.service.enable();
    const json = await t.request().get('/').set('Accept', 'application/json').expect(503);
    expect(json.body.maintenance).to.equal(true);
    expect(json.headers.vary).to.equal('Accept-Language, Accept'); // the language is negotiated too
    const html = await t.request().get('/').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(503);
    expect(html.headers['content-type']).to.equal('text/html; charset=utf-8');
    const none = await t.request().get('/').set('Accept', '*/*').expect(503);
    expect(none.headers['content-type']).to.equal('text/html; charset=utf-8');
  });

  it('responseType as a function chooses per request', async () => {
    const t = createTestApp({ responseType: (ctx) => (ctx.path.startsWith('/api') ? 'json' : 'html') });
    await t.service.enable();
    expect((await t.request().get('/api/x').expect(503)).body).to.include({ maintenance: true });
    expect((await t.request().get('/page').expect(503)).headers['content-type']).to.equal('text/html; charset=utf-8');
  });

  it('answers HEAD with the status and headers only', async () => {
    const t = createTestApp();
    await t.service.enable();
    const r = await t.request().head('/').expect(503);
    expect(r.headers['retry-after']).to.equal('3600');
    expect(r.text).to.equal(undefined);
  });

  it('reads the state at most once per request, also when rules need users and IPs', async () => {
    const counter = countingKeyv();
    const service = new MaintenanceService({ store: counter.keyv, cacheTtlMs: 0 });
    const t = createTestApp({ service, ignoreStaff: true, ignoreIpAddresses: ['10.0.0.1'], ignoreUrls: ['/x'] });
    await t.request().get('/').expect(200);
    await service.enable();
    counter.reads = 0;
    await t.request().get('/').expect(503);
    await t.request().get('/x').expect(200);
    expect(counter.reads).to.equal(2);
  });

  it('with the default cacheTtlMs, reads the store once for many requests', async () => {
    const counter = countingKeyv();
    const service = new MaintenanceService({ store: counter.keyv });
    await new MaintenanceService({ store: counter.keyv }).enable(); // switched on elsewhere
    counter.reads = 0;
    const t = createTestApp({ service });
    for (let i = 0; i < 20; i++) await t.request().get('/').expect(503);
    expect(counter.reads).to.equal(1);
    expect(service.storeReads).to.equal(1);
  });

  it('never fails a request when the store fails: fallbackValue decides, and one warning is logged', async () => {
    const logger = captureLogger();
    const broken = unreadableKeyv();
    const closed = createTestApp({ service: new MaintenanceService({ store: broken, fallbackValue: true, logger }) });
    await closed.request().get('/').expect(503);
    await closed.request().get('/').expect(503);
    expect(logger.warnings).to.have.length(1);
    const open = createTestApp({ service: new MaintenanceService({ store: broken, logger: captureLogger() }) });
    await open.request().get('/').expect(200);
  });

  it('uses Container.get(MaintenanceService) when no service is given, resolved per request', async () => {
    const { Container } = await import('typedi');
    const Koa = (await import('koa')).default;
    const supertest = (await import('supertest')).default;
    const { maintenance } = await import('../src/index.js');
    const app = new Koa();
    app.use(maintenance());
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const service = new MaintenanceService({ store: new Keyv() });
    Container.set(MaintenanceService, service);
    try {
      await service.enable();
      await supertest(app.callback()).get('/').expect(503);
    } finally {
      Container.reset();
    }
  });
});
