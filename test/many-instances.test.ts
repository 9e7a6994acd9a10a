import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import { createRedisStore, MaintenanceService, maintenance } from '../src/index.js';
import { captureLogger, pushesReach } from './helpers/app.js';
import { loadUntil } from './helpers/load.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until as untilPolled } from './helpers/wait.js';

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Resolves when `check()` is true, polling on every turn of the event loop (latencies not rounded up); rejects after `limitMs`. */
async function until(check: () => boolean, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!check()) {
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setImmediate(r));
  }
  return performance.now() - t0;
}

describe('many instances on one Redis: pushed changes', () => {
  let redis: TestRedis;
  const services: MaintenanceService[] = [];
  const instance = (extra: object = {}) => {
    // A cache TTL of one minute: whatever another instance sees within the test can only have been pushed.
    const s = new MaintenanceService({
      store: createRedisStore(redis.url),
      cacheTtlMs: 60_000,
      logger: captureLogger(),
      ...extra,
    });
    services.push(s);
    return s;
  };
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(20_000);
    redis = await startRedis();
  });
  afterEach(async () => Promise.all(services.splice(0).map((s) => s.close())));
  after(async () => redis?.dispose());

  it('propagates 200 toggles from one instance to two others by pub/sub (p50/p99 printed)', async function () {
    this.timeout(60_000);
    const writer = instance();
    const readers = [instance(), instance()];
    for (const r of readers) await r.getState(); // subscribe
    await pushesReach(writer, readers); // subscriptions established
    const reads = readers.map((r) => r.storeReads);
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const want = i % 2 === 0;
      const t0 = performance.now();
      await (want ? writer.enable({ by: `t${i}` }) : writer.disable({ by: `t${i}` }));
      for (const r of readers) {
        await until(() => r.lastKnownState().enabled === want && r.lastKnownState().updatedBy === `t${i}`, PATIENCE_MS);
      }
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `      propagation write+push to 2 instances over 200 toggles: p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms`,
    );
    expect(latencies).to.have.length(200);
    // Pushed, not polled: a change message names what changed, and each instance reads it once (60 s cache).
    expect(readers.map((r, i) => r.storeReads - reads[i]).every((n) => n <= 200 + 3)).to.equal(true);
  });

  it('pushes a scoped change to the other instance: seen in milliseconds, one read per change', async function () {
    this.timeout(3 * PATIENCE_MS);
    const writer = instance();
    const reader = instance();
    const request = (() => {
      const app = new Koa();
      app.use(maintenance({ service: reader, scope: (ctx) => ctx.get('x-tenant') || undefined }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      return () => supertest(app.callback());
    })();
    await request().get('/').set('x-tenant', 'acme').expect(200); // reads the state and the scope table once
    await pushesReach(writer, [reader], 'acme'); // subscription established
    // What joining the fleet reads in the background is done: no read for 300 ms (it took ~30 ms on an idle machine).
    let quietSince = { reads: reader.storeReads, at: performance.now() };
    await untilPolled(() => {
      if (reader.storeReads !== quietSince.reads) quietSince = { reads: reader.storeReads, at: performance.now() };
      return performance.now() - quietSince.at > 300;
    }, PATIENCE_MS);
    const reads = reader.storeReads;
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await writer.enable({ scope: 'acme', message: `window ${i}` });
      await until(() => reader.lastKnownState('acme').message === `window ${i}`, PATIENCE_MS);
      latencies.push(performance.now() - t0);
      await writer.disable({ scope: 'acme' });
      await until(() => !reader.lastKnownState('acme').enabled, PATIENCE_MS);
    }
    await writer.enable({ scope: 'acme', message: 'migrating' });
    await until(() => reader.lastKnownState('acme').message === 'migrating', PATIENCE_MS);
    await request().get('/').set('x-tenant', 'acme').expect(503);
    await request().get('/').set('x-tenant', 'globex').expect(200);
    // Every change arrived by push (a 60 s cache: no polling), and was read once: 41 changes.
    expect(reader.storeReads - reads).to.be.within(1, 41);
    latencies.sort((a, b) => a - b);
    console.log(
      `      scoped change write+push over 20 windows: p50 ${pct(latencies, 50).toFixed(2)} ms, max ${latencies[19].toFixed(2)} ms`,
    );
    expect(await writer.scopes()).to.have.length(1);
  });

  it('resubscribes after Redis restarts: later toggles are pushed again', async function () {
    this.timeout(4 * PATIENCE_MS);
    const writer = instance();
    const reader = instance();
    await reader.getState();
    await pushesReach(writer, [reader]); // subscribed
    await redis.stop();
    await redis.restart();
    const wrote = () =>
      writer.enable({ by: 'after-restart' }).then(
        () => true,
        () => false,
      );
    await untilPolled(wrote, PATIENCE_MS); // the writer reconnected
    await until(() => reader.lastKnownState().updatedBy === 'after-restart', PATIENCE_MS); // pushed: resubscribed
  });
});

describe('many instances on one Redis: Redis fails under load', () => {
  let redis: TestRedis;
  /** Two app instances (each its own service and server) behind the same Redis, as behind a load balancer. */
  let instances: Array<{ server: import('node:http').Server; base: string; service: MaintenanceService }>;
  let service: MaintenanceService;
  let base: string;
  const TIMEOUT = 300;
  /**
   * How long Redis is down or stalled. A request that waited for it would take about that long; one bounded by
   * storeTimeoutMs takes TIMEOUT plus what a loaded machine adds (SLOWEST_MS allows seconds), far less.
   */
  const OUTAGE_MS = 6000;
  const SLOWEST_MS = OUTAGE_MS - 2000;

  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(20_000);
    redis = await startRedis();
  });
  after(async () => redis?.dispose());
  beforeEach(async () => {
    instances = [];
    for (let i = 0; i < 2; i++) {
      const s = new MaintenanceService({
        store: createRedisStore(redis.url),
        cacheTtlMs: 200,
        storeTimeoutMs: TIMEOUT,
        fallbackValue: false,
        logger: captureLogger(),
      });
      const app = new Koa();
      app.use(maintenance({ service: s }));
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      instances.push({ server, service: s, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    }
    [{ service, base }] = instances;
    await service.disable({ by: 'setup' });
  });
  afterEach(async () => {
    for (const i of instances) {
      i.server.closeAllConnections();
      await new Promise((r) => i.server.close(r));
      await i.service.close();
    }
  });

  const load = (stop: Promise<unknown>) => loadUntil(() => instances.map((i) => i.base), stop);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('Redis killed and restarted: no 5xx, no request waits for Redis, state correct after', async function () {
    this.timeout(OUTAGE_MS + 2 * PATIENCE_MS);
    const scenario = (async () => {
      await sleep(300);
      await redis.stop();
      await sleep(OUTAGE_MS);
      await redis.restart();
      await sleep(1000);
    })();
    const { statuses, slowest } = await load(scenario);
    expect(Object.keys(statuses)).to.deep.equal(['200']);
    expect(statuses['200']).to.be.above(100);
    expect(slowest).to.be.below(SLOWEST_MS); // bounded by storeTimeoutMs, not by the outage
    for (const i of instances) {
      // Once reconnected (the client backs off during the outage), the store has what it had.
      const read = () => i.service.getStoredState().catch(() => undefined);
      await untilPolled(async () => (await read()) !== undefined, PATIENCE_MS);
      expect(await i.service.getStoredState()).to.include({ enabled: false, updatedBy: 'setup' });
    }
  });

  it('Redis stalled (SIGSTOP): requests do not hang, and recover after SIGCONT', async function () {
    this.timeout(OUTAGE_MS + 3 * PATIENCE_MS);
    const scenario = (async () => {
      await sleep(300);
      redis.pause();
      await sleep(OUTAGE_MS);
      redis.resume();
      await sleep(800);
    })();
    const { statuses, slowest } = await load(scenario);
    expect(Object.keys(statuses)).to.deep.equal(['200']);
    expect(statuses['200']).to.be.above(100);
    expect(slowest).to.be.below(SLOWEST_MS); // bounded by storeTimeoutMs, not by the stall
    const wrote = () =>
      service.enable({ by: 'after-stall' }).then(
        () => true,
        () => false,
      );
    await untilPolled(wrote, PATIENCE_MS); // Redis answers again after SIGCONT
    expect((await fetch(`${base}/`)).status).to.equal(503);
    // the other instance learns it by push (or its next read): every instance ends up blocking
    await untilPolled(async () => (await fetch(`${instances[1].base}/`)).status === 503, PATIENCE_MS);
  });

  it('a toggle acknowledged before an outage is still there after it, and is served again', async function () {
    this.timeout(3 * PATIENCE_MS);
    await service.enable({ message: 'acknowledged', by: 'ops' });
    await redis.stop();
    const poll = async (want: number) => {
      let status = 0;
      const read = async () => {
        status = (await fetch(`${base}/`)).status;
        return status === want;
      };
      await untilPolled(read, PATIENCE_MS).catch(() => undefined);
      return status;
    };
    // The last known state (on) for cacheTtlMs after the first failed read, then fallbackValue (off):
    expect(await poll(200)).to.equal(200);
    await redis.restart();
    expect(await poll(503)).to.equal(503);
    expect(await service.getStoredState()).to.include({ enabled: true, message: 'acknowledged', updatedBy: 'ops' });
  });
});

describe('file store: changes by another process are pushed by a directory watch', () => {
  it('sees the CLI-style write within the cache TTL, without polling', async function () {
    this.timeout(3 * PATIENCE_MS);
    const dir = mkdtempSync(join(tmpdir(), 'kmm-watch-'));
    const file = join(dir, 'state.json');
    const service = new MaintenanceService({ stateFilePath: file, cacheTtlMs: 60_000, logger: captureLogger() });
    try {
      expect(await service.isEnabled()).to.equal(false);
      const writer = new MaintenanceService({ stateFilePath: file, cacheTtlMs: 0 });
      await writer.enable({ by: 'cli' });
      await until(() => service.lastKnownState().updatedBy === 'cli', PATIENCE_MS); // watched: not the 60 s cache
      writeFileSync(file, '0\n');
      await until(() => service.lastKnownState().enabled === false, PATIENCE_MS);
      expect(await service.isEnabled()).to.equal(false);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
