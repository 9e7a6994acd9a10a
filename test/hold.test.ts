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
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/**
 * A hold far longer than any test here: a request answered before half of it was not held (or was released), never
 * timed out, however slow the machine. A test that waits for it to end says `this.timeout()` of more.
 */
const LONG_HOLD_MS = 60_000;

/** The services of the apps built here, closed after each test: close() answers what is still held (a failed test). */
const services = new Set<MaintenanceService>();
async function closeServices() {
  await Promise.all([...services].map((s) => s.close()));
  services.clear();
}

/** An app whose handler reports what maintenance() left; `served` counts requests that reached it. */
function holdApp(service: MaintenanceService, options: MaintenanceOptions) {
  services.add(service);
  const app = new Koa();
  app.silent = true;
  let served = 0;
  let arrived = 0;
  const router = new Router();
  router.get('/legacy', forceMaintenance('on'), (ctx) => {
    ctx.body = 'never';
  });
  app.use((_ctx, next) => {
    arrived++;
    return next();
  });
  app.use(maintenance({ service, ...options }));
  app.use(router.routes());
  app.use((ctx) => {
    served++;
    ctx.body = { decision: ctx.state.maintenanceDecision, heldMs: ctx.state.maintenanceHeldMs };
  });
  return { app, served: () => served, arrived: () => arrived, request: () => supertest(app.callback()) };
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
  this.timeout(LONG_HOLD_MS / 2);
  afterEach(closeServices);

  it('holds a request while maintenance is on and releases it to the app when it ends', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS } });
    await service.enable();
    const pending = timed(t);
    await until(() => t.arrived() === 1, PATIENCE_MS); // it reached maintenance() (a cold start may take a while)
    await sleep(300);
    expect(t.served()).to.equal(0); // still waiting
    await service.disable();
    const r = await pending;
    expect(r.status).to.equal(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'released' });
    expect(r.body.heldMs).to.be.at.least(250).and.at.most(r.ms); // from when it was held: 300 ms before the release
    expect(r.ms).to.be.at.least(290); // held until released (the rule says released, not after maxMs)
  });

  it('answers with maintenance after maxMs', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: 300 } });
    await service.enable();
    const r = await timed(t);
    expect(r.status).to.equal(503);
    expect(r.ms).to.be.at.least(290); // held for maxMs (ending at all is the upper bound: the test's timeout)
    expect(t.served()).to.equal(0);
  });

  it('answers at once once maxHeld requests wait, and never holds a forced-on route', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS, maxHeld: 2, maxHeldPerClient: 2 } });
    await service.enable();
    const held = [timed(t), timed(t)];
    await sleep(200);
    const third = await timed(t);
    expect(third.status).to.equal(503);
    expect(third.ms).to.be.below(LONG_HOLD_MS / 2); // answered, not held
    const forced = await timed(t, '/legacy');
    expect(forced.status).to.equal(503);
    expect(forced.ms).to.be.below(LONG_HOLD_MS / 2);
    await service.disable();
    expect((await Promise.all(held)).map((r) => r.status)).to.deep.equal([200, 200]);
  });

  it('drops a client that disconnects while held at once, freeing its place', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS, maxHeld: 1 } });
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
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS }, healthPaths: true });
    await service.enable();
    const held = Array.from({ length: 20 }, () => timed(t));
    await sleep(100);
    const health = await timed(t, '/healthz');
    expect(health.status).to.equal(200);
    expect(health.ms).to.be.below(LONG_HOLD_MS / 2); // answered while the 20 are still held
    await service.disable();
    expect((await Promise.all(held)).every((r) => r.status === 200)).to.equal(true);
  });

  it('releases on a store without push once the cache policy reads the change', async () => {
    const store = new Keyv();
    const reader = new MaintenanceService({ store, cacheTtlMs: 200, logger: captureLogger() });
    const writer = new MaintenanceService({ store, cacheTtlMs: 0, logger: captureLogger() });
    const t = holdApp(reader, { hold: { maxMs: LONG_HOLD_MS } });
    await writer.enable();
    const pending = timed(t);
    await sleep(300);
    const t0 = performance.now();
    await writer.disable();
    const r = await pending;
    expect(r.status).to.equal(200);
    expect(r.body.decision.rule).to.equal('released'); // by the read of the change (cacheTtlMs 200), not after maxMs
    expect(performance.now() - t0).to.be.below(LONG_HOLD_MS / 2);
  });

  it('holds a scoped request until its scope ends, while other tenants are served', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS }, scope: (ctx) => ctx.get('x-tenant') || undefined });
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
    expect(r.status).to.equal(200); // released (maxMs would answer 503)
    expect(r.ms).to.be.at.least(190); // held until its scope ended
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
  this.timeout(LONG_HOLD_MS / 2);
  afterEach(closeServices);

  it('caps what one client may hold (maxHeldPerClient), so it cannot crowd out everyone else; an IPv6 /64 is one client', async () => {
    const service = memoryService();
    const t = await listening(service, { hold: { maxMs: LONG_HOLD_MS, maxHeld: 10, maxHeldPerClient: 2 } });
    try {
      await service.enable();
      const greedy = [t.get('198.51.100.7'), t.get('198.51.100.7')];
      const v6 = [t.get('2001:db8:1:2::a'), t.get('2001:db8:1:2::b')];
      await sleep(200);
      const third = await t.get('198.51.100.7');
      expect(third.status).to.equal(503); // answered at once: its client holds two already
      expect(third.ms).to.be.below(LONG_HOLD_MS / 2); // not held
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
    const t = await listening(service, { hold: { maxMs: LONG_HOLD_MS } });
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
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS } });
    const start = new Date(Date.now() - 60_000).toISOString().slice(0, 16); // the occurrence began a minute ago
    await service.addWindow({ id: 'nightly', rrule: 'FREQ=DAILY', tz: 'UTC', start, durationMinutes: 30 });
    const r = await releasedByDisable(t, service, 300);
    expect(r.ms).to.be.at.least(300); // held until disable() (released, not answered after maxMs)
  });

  it('releases a request whose scope hook returned no scope name, like one without a scope', async () => {
    const service = memoryService();
    const t = holdApp(service, { hold: { maxMs: LONG_HOLD_MS }, scope: () => 'not a valid name!' });
    await service.enable();
    const r = await releasedByDisable(t, service, 300); // released (200, rule released), not answered after maxMs
    expect(r.ms).to.be.at.least(300);
  });

  it("counts maxMs from the request's arrival, not from when it was held (a slow user lookup)", async () => {
    // The user lookup outlasts maxMs: counted from arrival, nothing is left to hold once it ends (an answer at once);
    // counted from the hold, the request would wait maxMs more after it.
    const MAX_MS = 2000;
    const service = memoryService();
    let lookupEnded = 0;
    const t = holdApp(service, {
      hold: { maxMs: MAX_MS },
      ignoreAuthenticatedUser: true,
      getUser: async () => {
        await sleep(MAX_MS + 200);
        lookupEnded = performance.now();
        return undefined;
      },
    });
    await service.enable();
    const r = await timed(t);
    expect(r.status).to.equal(503);
    const afterLookup = performance.now() - lookupEnded;
    expect(afterLookup, 'answered after the lookup ended').to.be.below(MAX_MS); // from the hold: MAX_MS at least
  });

  it('answers held requests at once when the service closes, ends kept-alive connections, and holds nothing after', async () => {
    const service = memoryService();
    const t = await listening(service, { hold: { maxMs: LONG_HOLD_MS } });
    try {
      await service.enable();
      const held = Array.from({ length: 3 }, (_, i) => t.get(`192.0.2.${i + 10}`));
      await sleep(200);
      const t0 = performance.now();
      await service.close();
      const results = await Promise.all(held);
      expect(performance.now() - t0).to.be.below(LONG_HOLD_MS / 2); // answered by close(), not after maxMs
      expect(results.map((r) => r.status)).to.deep.equal([503, 503, 503]);
      expect(results.map((r) => r.connection)).to.deep.equal(['close', 'close', 'close']);
      const late = await t.get('192.0.2.99'); // e.g. on a kept-alive connection during shutdown
      expect(late.status).to.equal(503);
      expect(late.ms).to.be.below(LONG_HOLD_MS / 2); // not held
    } finally {
      await t.close();
    }
  });
});

describe('hold and release on two instances sharing Redis', function () {
  this.timeout(LONG_HOLD_MS / 2 + PATIENCE_MS);
  afterEach(closeServices);
  let redis: TestRedis;
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    redis = await startRedis();
  });
  after(async () => redis?.dispose());

  it('releases requests held by one instance when another ends maintenance (pushed)', async () => {
    // A cache far longer than the waits: what a arrives at within them was pushed to it.
    const a = redisService(redis.url, { cacheTtlMs: 10 * LONG_HOLD_MS });
    const b = redisService(redis.url, { cacheTtlMs: 10 * LONG_HOLD_MS });
    try {
      const t = holdApp(a, { hold: { maxMs: LONG_HOLD_MS } });
      await t.request().get('/').expect(200); // subscribes
      await sleep(200);
      await b.enable();
      await until(() => a.lastKnownState().enabled, PATIENCE_MS); // pushed
      const held = Array.from({ length: 10 }, () => timed(t));
      await sleep(500);
      const off = performance.now();
      await b.disable();
      const results = await Promise.all(held);
      const after = performance.now() - off;
      expect(results.map((r) => r.status)).to.deep.equal(Array(10).fill(200)); // released, not after maxMs
      expect(after).to.be.below(LONG_HOLD_MS / 2); // pushed: no cache expiry involved
    } finally {
      await a.close();
      await b.close();
    }
  });
});
