/**
 * The fleet at scale (part of `npm run bench:scale`): instances in worker processes (`bench/fleet-worker.ts`, 4 of
 * them, so the instances share the 2 cores as real processes would, not one event loop), each with its own store
 * connections, on a real Redis and a real PostgreSQL.
 * - Settling: the time from the start of `enable()` / `disable()` until `waitForFleet()` resolves (every instance
 *   applied the revision and drained), p50/p99 over the toggles, for 50, 200 and 1,000 instances on Redis and 50 and 200 on
 *   PostgreSQL (see SIZES). Goal p99 <= 50 ms.
 * - Cost: the store operations per second presence adds at 200 idle instances with the default interval (5 s): Redis
 *   commands from `INFO stats`, PostgreSQL transactions from `pg_stat_database` (each statement is one; the server
 *   publishes backends' counts up to 10 s late, the same at both ends of the window, so the rate holds).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import pg from 'pg';
import { createPostgresStore, createRedisStore, type KeyvLike, MaintenanceService } from '../src/index.js';

const TOGGLES = Number(process.env.FLEET_TOGGLES ?? 100);
const WORKERS = 4;
/**
 * Fleet sizes per store (`FLEET_SIZES_REDIS`, `FLEET_SIZES_POSTGRES`: comma-separated). PostgreSQL stops at 200 by
 * default: each instance holds a LISTEN connection and a pool, and on 2 cores 200 instances already take seconds to
 * settle (600 backends); 1,000 would be 3,000 backends — a server of its own behind a pooler, not this machine.
 */
const SIZES = {
  redis: (process.env.FLEET_SIZES_REDIS ?? '50,200,1000').split(',').map(Number),
  postgres: (process.env.FLEET_SIZES_POSTGRES ?? '50,200').split(',').map(Number),
};
const WINDOW_MS = Number(process.env.FLEET_WINDOW_MS ?? 30_000);
const quiet = { warn: () => undefined, info: () => undefined };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function line(what: string, value: string, goal: string, met: boolean): void {
  console.log(`${what.padEnd(52)} ${value.padStart(14)}   goal ${goal.padEnd(12)} ${met ? 'met' : 'MISSED'}`);
}

/** A store and a way to count the operations its server has run so far. */
interface Backend {
  readonly name: string;
  readonly kind: 'redis' | 'postgres';
  readonly url: string;
  readonly store: () => KeyvLike;
  readonly operations: () => Promise<number>;
  readonly close: () => Promise<void>;
}

/** Starts `total` instances over {@link WORKERS} processes; resolves once every one has said it reported. */
async function startInstances(b: Backend, total: number, intervalMs: number): Promise<ChildProcess[]> {
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const count = Math.floor(total / WORKERS) + (i < total % WORKERS ? 1 : 0);
    return fork(join(__dirname, 'fleet-worker.js'), [b.kind, b.url, String(count), String(intervalMs)], {
      execArgv: process.env.FLEET_WORKER_ARGS?.split(' ') ?? [], // e.g. --cpu-prof
    });
  });
  await Promise.all(workers.map((w) => new Promise((ready) => w.once('message', ready))));
  return workers;
}

async function stopInstances(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map((w) => {
      const exited = new Promise((done) => w.once('exit', done));
      w.send({ type: 'exit' });
      return exited;
    }),
  );
}

/** Live instances; 0 while the store does not answer (hundreds of instances connecting at once can delay it). */
async function live(admin: MaintenanceService): Promise<number> {
  return admin.fleet().then(
    (f) => f.instances.filter((i) => !i.stale).length,
    () => 0,
  );
}

/** The CPU time (user + system, microseconds) the workers have used so far. */
async function workersCpu(workers: ChildProcess[]): Promise<number> {
  const usages = await Promise.all(
    workers.map(
      (w) =>
        new Promise<number>((done) => {
          const on = (m: { type: string; user: number; system: number }) => {
            if (m.type !== 'cpu') return;
            w.off('message', on);
            done(m.user + m.system);
          };
          w.on('message', on);
          w.send({ type: 'cpu' });
        }),
    ),
  );
  return usages.reduce((a, n) => a + n, 0);
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * p50/p99 of enable()/disable() → waitForFleet() with `total` instances, and the CPU a switch costs: each instance
 * (its push, its read, its report: what bounds the time when every instance has its own core) and the waiter.
 */
async function settling(b: Backend, admin: MaintenanceService, total: number, workers: ChildProcess[]): Promise<void> {
  const deadline = performance.now() + 30_000;
  while ((await live(admin)) < total) {
    if (performance.now() > deadline) throw new Error(`${b.name}: ${total} instances did not all join within 30 s`);
    await sleep(100);
  }
  const times: number[] = [];
  let cpu = { workers: 0, waiter: 0 };
  for (let i = 0; i < TOGGLES + 5; i++) {
    if (i === 5) cpu = { workers: await workersCpu(workers), waiter: cpuNow() }; // the first 5 warm up
    const t0 = performance.now();
    await (i % 2 === 0 ? admin.enable({ by: 'bench' }) : admin.disable({ by: 'bench' }));
    const fleet = await admin.waitForFleet({ timeoutMs: 10_000 });
    if (fleet.instances.filter((x) => !x.stale).length !== total) throw new Error(`${b.name}: instances went stale`);
    if (i >= 5) times.push(performance.now() - t0);
  }
  const waiterUs = (cpuNow() - cpu.waiter) / TOGGLES;
  const instanceUs = ((await workersCpu(workers)) - cpu.workers) / TOGGLES / total;
  times.sort((a, c) => a - c);
  const p99 = pct(times, 99);
  const name = `${b.name}, ${total} instances`;
  line(`${name}: enable() to fleet settled, p50`, `${pct(times, 50).toFixed(1)} ms`, '', true);
  line(`${name}: enable() to fleet settled, p99`, `${p99.toFixed(1)} ms`, '<= 50 ms', p99 <= 50);
  line(`${name}: CPU per switch, each instance`, `${(instanceUs / 1000).toFixed(3)} ms`, '', true);
  line(`${name}: CPU per switch, the waiter`, `${(waiterUs / 1000).toFixed(2)} ms`, '', true);
  line(`${name}: CPU per switch, all instances`, `${((instanceUs * total) / 1000).toFixed(1)} ms`, '', true);
}

/** Operations per second over {@link WINDOW_MS} while nothing else uses the server. */
async function rate(b: Backend): Promise<number> {
  const before = await b.operations();
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const after = await b.operations();
  return (after - before) / ((performance.now() - t0) / 1000);
}

/** What presence costs the store at `total` idle instances: operations per second beyond the idle server's `idle`. */
async function presenceCost(b: Backend, total: number, idle: number): Promise<void> {
  await sleep(6000); // every instance past its first report and a heartbeat
  const ops = (await rate(b)) - idle;
  line(`${b.name}: presence, ${total} idle instances at 5 s`, `${ops.toFixed(1)} ops/s`, '', true);
  line(`${b.name}: presence per instance and heartbeat`, `${((ops * 5) / total).toFixed(2)} ops`, '', true);
}

/** Settling at each size, then what presence costs the store at the largest size (default interval, 5 s). */
export async function fleetAtScale(b: Backend): Promise<void> {
  const admin = new MaintenanceService({ store: b.store(), logger: quiet, storeTimeoutMs: 5000 });
  try {
    await admin.getState();
    const idle = await rate(b); // no instances: what counting itself and the admin's connection cost
    const sizes = SIZES[b.kind];
    if (!sizes.includes(1000)) console.log(`${b.name}, 1000 instances: not run here (see FLEET_SIZES_POSTGRES)`);
    for (const total of sizes) {
      const workers = await startInstances(b, total, 5000);
      try {
        await settling(b, admin, total, workers);
        if (total === Math.min(200, Math.max(...sizes))) await presenceCost(b, total, idle);
      } finally {
        await stopInstances(workers);
      }
    }
  } finally {
    await admin.close();
    await b.close();
  }
}

/** The Redis backend: operations are `total_commands_processed` (a script's inner calls included). */
export async function redisBackend(url: string): Promise<Backend> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    name: 'Redis',
    kind: 'redis',
    url,
    store: () => createRedisStore(url),
    operations: async () => Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))?.[1]),
    close: async () => {
      await client.quit();
    },
  };
}

/** The PostgreSQL backend: operations are committed transactions of the database (one per statement here). */
export async function postgresBackend(url: string): Promise<Backend> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name: 'PostgreSQL',
    kind: 'postgres',
    url,
    store: () => createPostgresStore(url, { connectTimeoutMs: 5000 }), // see bench/fleet-worker.ts
    operations: async () => {
      const { rows } = await client.query(
        'SELECT xact_commit::bigint AS n FROM pg_stat_database WHERE datname = current_database()',
      );
      return Number(rows[0].n);
    },
    close: () => client.end(),
  };
}
