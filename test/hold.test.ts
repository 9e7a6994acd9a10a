import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { forceMaintenance, type MaintenanceOptions, MaintenanceService, maintenance } from '../src/index.js';
import { captureLogger, memoryService, redisService } from './helpers/app.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An app whose handler reports what maintenance() left; `served` counts requests that reached it. */
function holdApp(service: MaintenanceService, options: MaintenanceOptions) {
  const app = new Koa();
  app.silent = true;
  let served = 0;
  const router = new Router();
  router.get('/legacy', forceMaintenance('on'), (ctx) => {
    ctx.body = 'never';
  });
  app.use(maintenance({ service, ...options }));
  app.use(router.routes());
  app.use((ctx) => {
    served++;
    ctx.body = { decision: ctx.state.maintenanceDecision, heldMs: ctx.state.maintenanceHeldMs };
  });
  return { app, served: () => served, request: () => supertest(app.callback()) };
}

/** Sends GET / and resolves with the status and how long it took. */
async function timed(t: { request: () => supertest.Agent }, path = '/') {
  const t0 = performance.now();
  const r = await t.request().get(path);
  return { status: r.status, body: r.body, ms: performance.now() - t0 };
}

/** A request held `heldMs`, then `service.disable()`: asserts it was released to the app (200) and returns it. */
async function releasedByDisable(t: { request: () => supertest.Agent }, service: MaintenanceService, heldMs: number) {
  const pending = timed(t);
  await sleep(heldMs);
  await service.disable();
  const r = await pending;
  expect(r.status).to.equal(200);
  expect(r.body.decision.rule).to.equal('released');
  return r;
}

describe('hold and release', function () {
  this.timeout(20_000);

  it('holds a request while maintenance is on and releases it to the app when it ends', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 10_000 } });
    await service.enable();
    const pending = timed(t);
    await sleep(300);
    expect(t.served()).to.equal(0); // still waiting
    await service.disable();
    const r = await pending;
    expect(r.status).to.equal(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'released' });
    expect(r.body.heldMs).to.be.within(200, 2000); // from when it was held (the test sleeps 300 ms from before the request)
    expect(r.ms).to.be.within(290, 2000); // released at once, not after maxMs
  });

  it('answers with maintenance after maxMs', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 300 } });
    await service.enable();
    const r = await timed(t);
    expect(r.status).to.equal(503);
    expect(r.ms).to.be.within(290, 3000);
    expect(t.served()).to.equal(0);
  });

  it('answers at once once maxHeld requests wait, and never holds a forced-on route', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 10_000, maxHeld: 2, maxHeldPerClient: 2 } });
    await service.enable();
    const held = [timed(t), timed(t)];
    await sleep(200);
    const third = await timed(t);
    expect(third.status).to.equal(503);
    expect(third.ms).to.be.below(150);
    const forced = await timed(t, '/legacy');
    expect(forced.status).to.equal(503);
    expect(forced.ms).to.be.below(150);
    await service.disable();
    expect((await Promise.all(held)).map((r) => r.status)).to.deep.equal([200, 200]);
  });

  it('drops a client that disconnects while held at once, freeing its place', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 10_000, maxHeld: 1 } });
    const server: Server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      await service.enable();
      const gone = httpRequest({ host: '127.0.0.1', port, path: '/' });
      gone.on('error', () => undefined);
      gone.end();
      await sleep(200);
      gone.destroy(); // the visitor closes the tab
      await sleep(50);
      // The place is free again: this request is held (maxHeld 1), not answered at once.
      await releasedByDisable(t, service, 200);
      expect(t.served()).to.equal(1); // the dropped request never reached the app
    } finally {
      server.close();
    }
  });

  it('keeps the event loop free: other requests are answered while requests are held', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 10_000 }, healthPaths: true });
    await service.enable();
    const held = Array.from({ length: 20 }, () => timed(t));
    await sleep(100);
    const health = await timed(t, '/healthz');
    expect(health.status).to.equal(200);
    expect(health.ms).to.be.below(500);
    await service.disable();
    expect((await Promise.all(held)).every((r) => r.status === 200)).to.equal(true);
  });

  it('releases on a store without push once the cache policy reads the change', async () => {
    const store = new Keyv();
    const reader = new MaintenanceService({ store, cacheTtlMs: 200, logger: captureLogger() });
    const writer = new MaintenanceService({ store, cacheTtlMs: 0, logger: captureLogger() });
    const t = holdApp(reader, { hold: { maxMs: 10_000 } });
    await writer.enable();
    const pending = timed(t);
    await sleep(300);
    const t0 = performance.now();
    await writer.disable();
    const r = await pending;
    expect(r.status).to.equal(200);
    expect(r.ms - 300).to.be.below(3000); // within a few cache TTLs, never maxMs
    expect(performance.now() - t0).to.be.below(3000);
  });

  it('holds a scoped request until its scope ends, while other tenants are served', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 10_000 }, scope: (ctx) => ctx.get('x-tenant') || undefined });
    await service.enable({ scope: 'acme' });
    const held = (async () => {
      const t0 = performance.now();
      const r = await t.request().get('/').set('x-tenant', 'acme');
      return { status: r.status, ms: performance.now() - t0 };
    })();
    await sleep(200);
    await t.request().get('/').set('x-tenant', 'globex').expect(200);
    await service.disable({ scope: 'acme' });
    const r = await held;
    expect(r.status).to.equal(200);
    expect(r.ms).to.be.within(190, 3000);
  });
});

/** The app listening on a loopback port, with a request helper that sends `x-client` (the client's address here). */
async function listening(service: MaintenanceService, options: MaintenanceOptions) {
  const t = holdApp(service, { getClientIpAddress: (ctx) => ctx.get('x-client') || '192.0.2.1', ...options });
  const server: Server = t.app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (client = '192.0.2.1', headers: Record<string, string> = {}) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/`, { headers: { 'x-client': client, ...headers } });
    await res.arrayBuffer();
    return { status: res.status, connection: res.headers.get('connection'), ms: performance.now() - t0 };
  };
  return { ...t, get, close: () => new Promise((r) => server.close(r)) };
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('hold and release: hardening', function () {
  this.timeout(20_000);

  it('caps what one client may hold (maxHeldPerClient), so it cannot crowd out everyone else; an IPv6 /64 is one client', async () => {
    const service = memoryService();
    const t = await listening(service, { hold: { maxMs: 10_000, maxHeld: 10, maxHeldPerClient: 2 } });
    try {
      await service.enable();
      const greedy = [t.get('198.51.100.7'), t.get('198.51.100.7')];
      const v6 = [t.get('2001:db8:1:2::a'), t.get('2001:db8:1:2::b')];
      await sleep(200);
      const third = await t.get('198.51.100.7');
      expect(third.status).to.equal(503); // answered at once: its client holds two already
      expect(third.ms).to.be.below(150);
      expect((await t.get('2001:db8:1:2:ffff::1')).status).to.equal(503); // the same /64
      const other = t.get('203.0.113.9'); // another client is still held
      await sleep(200);
      await service.disable();
      const results = await Promise.all([...greedy, ...v6, other]);
      expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
    } finally {
      await t.close();
    }
  });

  it('holds 300 requests with one shared timer, not a timer or a poll each', async () => {
    const service = memoryService();
    const t = await listening(service, { hold: { maxMs: 10_000 } });
    try {
      await service.enable();
      const before = timers();
      const held = Array.from({ length: 300 }, (_, i) => t.get(`10.0.${i >> 8}.${i & 255}`)); // 300 clients
      await sleep(500);
      expect(timers() - before).to.be.at.most(5);
      await service.disable();
      expect((await Promise.all(held)).every((r) => r.status === 200)).to.equal(true);
    } finally {
      await t.close();
    }
  });

  it('holds a request during a recurring window’s occurrence and releases it when disable() ends the occurrence', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 5000 } });
    const start = new Date(Date.now() - 60_000).toISOString().slice(0, 16); // the occurrence began a minute ago
    await service.addWindow({ id: 'nightly', rrule: 'FREQ=DAILY', tz: 'UTC', start, durationMinutes: 30 });
    const r = await releasedByDisable(t, service, 300);
    expect(r.ms).to.be.within(300, 2000);
  });

  it('releases a request whose scope hook returned no scope name, like one without a scope', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 5000 }, scope: () => 'not a valid name!' });
    await service.enable();
    const r = await releasedByDisable(t, service, 300);
    expect(r.ms).to.be.below(2000); // released, not answered after maxMs
  });

  it("counts maxMs from the request's arrival, not from when it was held (a slow user lookup)", async () => {
    const service = memoryService();
    const t = holdApp(service, {
      hold: { maxMs: 400 },
      ignoreAuthenticatedUser: true,
      getUser: async () => {
        await sleep(300);
        return undefined;
      },
    });
    await service.enable();
    const r = await timed(t);
    expect(r.status).to.equal(503);
    expect(r.ms).to.be.within(380, 650); // 400 ms from arrival; 700 ms if counted from the hold
  });

  it('answers held requests at once when the service closes, ends kept-alive connections, and holds nothing after', async () => {
    const service = memoryService();
    const t = await listening(service, { hold: { maxMs: 10_000 } });
    try {
      await service.enable();
      const held = Array.from({ length: 3 }, (_, i) => t.get(`192.0.2.${i + 10}`));
      await sleep(200);
      const t0 = performance.now();
      await service.close();
      const results = await Promise.all(held);
      expect(performance.now() - t0).to.be.below(500);
      expect(results.map((r) => r.status)).to.deep.equal([503, 503, 503]);
      expect(results.map((r) => r.connection)).to.deep.equal(['close', 'close', 'close']);
      const late = await t.get('192.0.2.99'); // e.g. on a kept-alive connection during shutdown
      expect(late.status).to.equal(503);
      expect(late.ms).to.be.below(300);
    } finally {
      await t.close();
    }
  });
});

describe('hold and release on two instances sharing Redis', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    redis = await startRedis();
  });
  after(async () => redis?.dispose());

  it('releases requests held by one instance when another ends maintenance (pushed)', async () => {
    const a = redisService(redis.url, { cacheTtlMs: 60_000 });
    const b = redisService(redis.url, { cacheTtlMs: 60_000 });
    try {
      const t = holdApp(a, { hold: { maxMs: 10_000 } });
      await t.request().get('/').expect(200); // subscribes
      await sleep(200);
      await b.enable();
      const start = performance.now();
      while (!a.lastKnownState().enabled) {
        expect(performance.now() - start).to.be.below(2000);
        await sleep(5);
      }
      const held = Array.from({ length: 10 }, () => timed(t));
      await sleep(500);
      const off = performance.now();
      await b.disable();
      const results = await Promise.all(held);
      const after = performance.now() - off;
      expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
      expect(after).to.be.below(1000); // pushed: no cache expiry involved
    } finally {
      await a.close();
      await b.close();
    }
  });
});
