import { Queue, Worker } from 'bullmq';
import { expect } from 'chai';
import { createRedisStore, MaintenanceService, pauseWorkerDuringMaintenance } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

/**
 * A BullMQ worker paused for maintenance stays paused while the maintenance store cannot be read (the service then
 * falls back to fallbackValue=false, "off"), and resumes only once a read says off (#30, item 12).
 */
describe('jobs: a paused BullMQ worker across a store blip (real redis-servers stopped and restarted)', function () {
  this.timeout(6 * PATIENCE_MS); // five waits a test, each allowed PATIENCE_MS
  const closing: Array<() => Promise<unknown>> = [];
  const servers: TestRedis[] = [];
  const down = new Set<TestRedis>();
  before(function () {
    requireBinary(this, 'redis-server', 'redis-server');
  });
  afterEach(async () => {
    for (const r of down) await r.restart();
    down.clear();
    for (const close of closing.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.all(servers.splice(0).map((r) => r.dispose()));
  });
  const server = async () => {
    const r = await startRedis();
    servers.push(r);
    return r;
  };
  const stop = async (r: TestRedis) => {
    down.add(r);
    await r.stop();
  };
  const restart = async (r: TestRedis) => {
    await r.restart();
    down.delete(r);
  };
  const instance = (store: TestRedis) => {
    const s = new MaintenanceService({ store: createRedisStore(store.url), logger: captureLogger() });
    closing.push(() => s.close());
    return s;
  };
  /** A queue and a worker on `queues` that follows `s`; `started` lists the jobs it began. */
  const workerFor = (queues: TestRedis, s: MaintenanceService, name: string) => {
    const connection = { host: '127.0.0.1', port: queues.port, maxRetriesPerRequest: null };
    const queue = new Queue(name, { connection });
    const started: number[] = [];
    const worker = new Worker(name, async (job) => void started.push(job.data.n), { connection, drainDelay: 1 });
    worker.on('error', () => undefined); // the queue's Redis restarting is expected here
    queue.on('error', () => undefined);
    const stopFollowing = pauseWorkerDuringMaintenance(worker, { service: s });
    closing.push(async () => {
      stopFollowing();
      await worker.close();
      await queue.close();
    });
    return { queue, worker, started };
  };

  it('stays paused while the store is down (the fallback says off) and after it is back on, resumes when read off', async () => {
    const store = await server();
    const queues = await server(); // jobs go on while the maintenance store is down
    const s = instance(store);
    const { queue, worker, started } = workerFor(queues, s, 'blip-1');
    await s.enable({ message: 'Migrating' });
    await until(() => worker.isPaused(), PATIENCE_MS);
    await stop(store);
    await queue.add('job', { n: 1 });
    await queue.add('job', { n: 2 });
    // The outage outlasts the cache: the service now serves fallbackValue=false for the state.
    await until(async () => !(await s.getState()).enabled, PATIENCE_MS);
    await sleep(1000); // several watch ticks on the fallback
    expect(started, 'jobs started while the state could not be read').to.deep.equal([]);
    expect(worker.isPaused()).to.equal(true);
    await restart(store);
    await until(async () => (await s.getState()).enabled, PATIENCE_MS); // read again: still on
    await sleep(500);
    expect(started, 'jobs started after the store came back with maintenance on').to.deep.equal([]);
    await s.disable();
    await until(() => started.length === 2, PATIENCE_MS);
    expect(worker.isPaused()).to.equal(false);
  });

  it('takes no job when one Redis holding both the state and the queue restarts during maintenance', async () => {
    const redis = await server();
    const s = instance(redis);
    const { queue, worker, started } = workerFor(redis, s, 'blip-2');
    await s.enable({ message: 'Migrating' });
    await until(() => worker.isPaused(), PATIENCE_MS);
    await stop(redis);
    await until(async () => !(await s.getState()).enabled, PATIENCE_MS); // the fallback: off
    await sleep(1000);
    await restart(redis);
    await queue.add('job', { n: 1 });
    await queue.add('job', { n: 2 });
    await until(async () => (await s.getState()).enabled, PATIENCE_MS);
    await sleep(1500);
    expect(started, 'jobs started during maintenance after the restart').to.deep.equal([]);
    await s.disable();
    await until(() => started.length === 2, PATIENCE_MS);
  });
});
