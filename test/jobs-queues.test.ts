import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { expect } from 'chai';
import { Cron } from 'croner';
import Keyv from 'keyv';
import { createRedisStore, MaintenanceError, MaintenanceService, pauseWorkerDuringMaintenance } from '../src/index.js';
import { captureLogger, countingKeyv, inSeconds, memoryService, redisService } from './helpers/app.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<MaintenanceError> {
  try {
    await promise;
  } catch (err) {
    return err as MaintenanceError;
  }
  throw new Error('it resolved');
}

describe('jobs: guard', () => {
  it('runs a job while maintenance is off, skips it while on (saying why), and runs it when told to', async () => {
    const s = memoryService();
    expect(await s.guard(() => 42)).to.deep.equal({ ran: true, value: 42 });
    await s.enable({ message: 'Migrating', by: 'ops' });
    let calls = 0;
    const skipped = await s.guard(() => calls++);
    expect(skipped.ran).to.equal(false);
    expect(skipped.ran === false && skipped.state).to.include({ enabled: true, message: 'Migrating' });
    expect(calls).to.equal(0);
    expect(await s.guard(async () => 'migration', { runDuringMaintenance: true })).to.deep.equal({
      ran: true,
      value: 'migration',
    });
    await s.disable();
    await s.enable({ dryRun: true }); // a rehearsal blocks nothing
    expect((await s.guard(() => 1)).ran).to.equal(true);
  });

  it("respects its scope's maintenance and the whole site's, and passes a job's error through", async () => {
    const s = memoryService();
    await s.enable({ scope: 'billing' });
    expect((await s.guard(() => 'invoice', { scope: 'billing' })).ran).to.equal(false);
    expect((await s.guard(() => 'mail', { scope: 'shop' })).ran).to.equal(true);
    expect((await s.guard(() => 'site')).ran).to.equal(true);
    await s.enable();
    expect((await s.guard(() => 'mail', { scope: 'shop' })).ran).to.equal(false);
    await s.disable();
    const boom = await rejection(s.guard(() => Promise.reject(new Error('job failed'))));
    expect(boom.message).to.equal('job failed');
    expect(s.inFlight.total, 'a failed job leaves the in-flight count').to.equal(0);
  });

  it('reads no more than the cache policy: 1,000 guarded runs, one store read', async () => {
    const counter = countingKeyv();
    const s = new MaintenanceService({ store: counter.keyv, cacheTtlMs: 60_000, logger: captureLogger() });
    for (let i = 0; i < 1000; i++) await s.guard(() => i);
    expect(counter.reads).to.be.at.most(2); // the state, and the scope table only if a scope was asked for
  });

  it('skips the runs of a croner schedule that fall in maintenance', async () => {
    const s = memoryService();
    const ran: number[] = [];
    const job = new Cron('* * * * * *', { paused: true }, async () => {
      await s.guard(() => ran.push(Date.now()));
    });
    try {
      job.trigger();
      await until(() => ran.length === 1, 5000);
      await s.enable();
      job.trigger();
      await sleep(100);
      expect(ran).to.have.length(1);
      await s.disable();
      job.trigger();
      await until(() => ran.length === 2, 5000);
    } finally {
      job.stop();
    }
  });

  it('counts a running job as in flight: the fleet waits for it before it is drained', async function () {
    this.timeout(3 * PATIENCE_MS);
    const dir = mkdtempSync(join(tmpdir(), 'kmm-guard-'));
    const s = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    try {
      let started = false;
      let finished = 0;
      const job = s.guard(async () => {
        started = true;
        await sleep(1200);
        finished = Date.now();
      });
      await until(() => started, PATIENCE_MS); // running (guard() read the state first)
      await s.enable({ message: 'Migrating' });
      const fleet = await s.waitForFleet({ timeoutMs: PATIENCE_MS });
      const settled = Date.now();
      await job;
      expect(finished, 'the wait ended after the job').to.be.above(0).and.at.most(settled);
      expect(fleet.instances).to.have.length(1);
      expect(fleet.instances[0].inFlight).to.equal(0);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jobs: waitUntilOff', () => {
  it('resolves at once when off, and when maintenance is switched off', async () => {
    const s = memoryService();
    await s.waitUntilOff();
    await s.enable();
    let done = false;
    const wait = s.waitUntilOff().then(() => {
      done = true;
    });
    await sleep(300);
    expect(done).to.equal(false);
    await s.disable();
    await wait;
  });

  it('resolves when a window ends by the clock (no write), and follows its scope', async () => {
    const s = memoryService();
    await s.enable({ end: inSeconds(0.6) });
    await s.enable({ scope: 'billing' });
    await s.waitUntilOff({ timeoutMs: 5000 }); // the whole site's window ended
    expect((await rejection(s.waitUntilOff({ scope: 'billing', timeoutMs: 300 }))).code).to.equal(
      'ERR_MAINTENANCE_WAIT_TIMEOUT',
    );
  });

  it('rejects on abort and on timeout with a clear error, and refuses a bad timeout', async () => {
    const s = memoryService();
    await s.enable();
    const controller = new AbortController();
    const wait = s.waitUntilOff({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const aborted = await rejection(wait);
    expect(aborted.code).to.equal('ERR_MAINTENANCE_WAIT_ABORTED');
    expect(aborted.message).to.equal('The wait for the end of maintenance was aborted.');
    const late = await rejection(s.waitUntilOff({ scope: 'x', timeoutMs: 100 }));
    expect(late.message).to.equal('Maintenance of scope "x" was still on after 100 ms (waitUntilOff timeoutMs).');
    expect(() => s.waitUntilOff({ timeoutMs: -1 })).to.throw(MaintenanceError, /timeoutMs/);
    expect((await rejection(s.waitUntilOff({ signal: AbortSignal.abort() }))).code).to.equal(
      'ERR_MAINTENANCE_WAIT_ABORTED',
    );
  });

  it('resolves by push on another instance (a real Redis)', async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(3 * PATIENCE_MS);
    const redis = await startRedis();
    const a = redisService(redis.url, { cacheTtlMs: 60_000 });
    const b = redisService(redis.url, { cacheTtlMs: 60_000 });
    try {
      await a.enable();
      await until(async () => (await b.getState()).enabled, PATIENCE_MS);
      const wait = b.waitUntilOff({ timeoutMs: PATIENCE_MS });
      await sleep(100);
      const t0 = Date.now();
      await a.disable();
      await wait; // it would reject after PATIENCE_MS: resolved by push, not by the 60 s cache
      expect(Date.now() - t0, 'by push, not the 60 s cache').to.be.below(PATIENCE_MS);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await redis.dispose();
    }
  });
});

describe('jobs: BullMQ workers on a real Redis', () => {
  let redis: TestRedis;
  const closing: Array<() => Promise<unknown>> = [];
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(20_000);
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close().catch(() => undefined);
  });
  after(async () => redis?.dispose());

  const connection = () => ({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });
  const instance = () => {
    const s = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() });
    closing.push(() => s.close());
    return s;
  };
  const queueNamed = (name: string) => {
    const q = new Queue(name, { connection: connection() });
    closing.push(() => q.close());
    return q;
  };
  const workerOn = (name: string, s: MaintenanceService, handle: (data: { n: number }) => Promise<void>) => {
    const w = new Worker(name, async (job) => handle(job.data), { connection: connection(), drainDelay: 1 });
    const stop = pauseWorkerDuringMaintenance(w, { service: s });
    closing.push(async () => {
      stop();
      await w.close();
    });
    return w;
  };

  it('takes no job during maintenance, and takes it once it ends', async function () {
    this.timeout(4 * PATIENCE_MS);
    const s = instance();
    const done: number[] = [];
    const q = queueNamed('mail-1');
    const w = workerOn('mail-1', s, async ({ n }) => {
      done.push(n);
    });
    await q.add('send', { n: 1 });
    await until(() => done.length === 1, PATIENCE_MS);
    await s.enable({ message: 'Migrating' });
    await until(() => w.isPaused(), PATIENCE_MS);
    await q.add('send', { n: 2 });
    await sleep(1500);
    expect(done, 'not taken during maintenance').to.deep.equal([1]);
    const off = Date.now();
    await s.disable();
    await until(() => done.length === 2, PATIENCE_MS); // how soon is the benchmarks' business
    console.log(`      taken ${Date.now() - off} ms after maintenance ended`);
    expect(w.isPaused()).to.equal(false);
  });

  it('finishes a long job running when maintenance starts (not killed), and the drain waits for it', async function () {
    this.timeout(4 * PATIENCE_MS);
    const s = instance();
    const events: string[] = [];
    const q = queueNamed('report-1');
    const w = workerOn('report-1', s, async ({ n }) => {
      events.push(`start ${n}`);
      await sleep(n === 1 ? 1500 : 10);
      events.push(`end ${n}`);
    });
    let failed = 0;
    w.on('failed', () => failed++);
    await s.getState(); // the instance listens for pushes
    s.joinFleet({ intervalMs: 60_000 });
    await q.add('long', { n: 1 });
    await until(() => events.includes('start 1'), PATIENCE_MS);
    await s.enable();
    await q.add('next', { n: 2 });
    const fleet = await s.waitForFleet({ timeoutMs: PATIENCE_MS });
    expect(events, 'the drain ended after the long job').to.deep.equal(['start 1', 'end 1']);
    expect(fleet.instances[0].inFlight).to.equal(0);
    await sleep(500);
    expect(events).to.deep.equal(['start 1', 'end 1']);
    await s.disable();
    await until(() => events.includes('end 2'), PATIENCE_MS);
    expect(failed).to.equal(0);
  });

  it('pauses the workers of two instances, whichever instance switches', async function () {
    this.timeout(4 * PATIENCE_MS);
    const a = instance();
    const b = instance();
    const done: string[] = [];
    const q = queueNamed('shared-1');
    const wa = workerOn('shared-1', a, async ({ n }) => {
      done.push(`a${n}`);
    });
    const wb = workerOn('shared-1', b, async ({ n }) => {
      done.push(`b${n}`);
    });
    await until(() => !wa.isPaused() && !wb.isPaused(), PATIENCE_MS);
    await a.enable();
    await until(() => wa.isPaused() && wb.isPaused(), PATIENCE_MS);
    for (let n = 1; n <= 4; n++) await q.add('job', { n });
    await sleep(1000);
    expect(done).to.deep.equal([]);
    await b.disable();
    await until(() => done.length === 4, PATIENCE_MS);
    expect(wa.isPaused() || wb.isPaused()).to.equal(false);
  });

  it('leaves a worker paused by the app alone', async function () {
    this.timeout(2 * PATIENCE_MS);
    const s = instance();
    const q = queueNamed('manual-1');
    const done: number[] = [];
    const w = workerOn('manual-1', s, async ({ n }) => {
      done.push(n);
    });
    await until(() => !w.isPaused(), PATIENCE_MS);
    await w.pause();
    await s.enable();
    await sleep(400);
    await s.disable();
    await sleep(600);
    expect(w.isPaused(), 'still paused: the app paused it').to.equal(true);
    await q.add('job', { n: 1 });
    await sleep(300);
    expect(done).to.deep.equal([]);
  });
});

describe('jobs: a worker without BullMQ', () => {
  it('refuses something that is not a worker, naming what it needs', () => {
    expect(() => pauseWorkerDuringMaintenance({} as never, { service: memoryService() })).to.throw(
      TypeError,
      /takes a BullMQ Worker/,
    );
    expect(() => pauseWorkerDuringMaintenance(new Keyv() as never, { service: memoryService() })).to.throw(TypeError);
  });
});

describe('jobs: stopping a worker that follows maintenance', () => {
  it('drops a resume still queued when stop() runs, so closing the worker meets no late resume()', async () => {
    const service = memoryService();
    let release: () => void = () => undefined;
    const calls: string[] = [];
    let paused = false;
    const worker = {
      pause: () => {
        calls.push('pause');
        paused = true;
        return new Promise<void>((done) => {
          release = done; // the active jobs still finishing
        });
      },
      resume: () => {
        calls.push('resume');
        paused = false;
      },
      isPaused: () => paused,
      on: () => worker,
      off: () => worker,
    };
    const stop = pauseWorkerDuringMaintenance(worker, { service });
    await service.enable();
    await until(() => calls.includes('pause'), 5000);
    await service.disable(); // a resume is queued behind the pause that is still finishing (within microtasks)
    await sleep(200);
    stop(); // the app stops following, then closes the worker
    release();
    await sleep(50);
    expect(calls).to.deep.equal(['pause']);
    await service.close();
  });
});
