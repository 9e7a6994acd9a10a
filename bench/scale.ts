/**
 * `npm run bench:scale`: the library at scale, each figure beside its goal.
 * - Propagation: one toggle seen by 50 instances (50 services, each with its own subscriber connection) on one Redis
 *   and on one PostgreSQL; p50/p99 over 200 toggles from the start of the write until all 50 hold the new state.
 * - Scopes: 10,000 tenant scopes seen by one process: memory beyond the states themselves, store reads per request
 *   at steady state, and timers/connections before and after (none per scope).
 * - The fleet (bench/fleet-scale.ts): enable() until every one of 50 and 200 instances confirmed, and what presence
 *   costs the store.
 * - Held requests (bench/held-scale.ts): memory, CPU and timers of 5,000 requests held while maintenance is on; and
 *   (bench/release-spread.ts) the app's peak concurrency when they are released, with the default spread and without.
 * `SCALE_ONLY=propagation|scopes|held|release|fleet` runs one part (`held` includes `release`).
 * Run with `node --expose-gc` (the npm script does). A benchmark, not a test.
 */
import Koa from 'koa';
import { createPostgresStore, createRedisStore, type KeyvLike, MaintenanceService, maintenance } from '../src/index.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { fleetAtScale, postgresBackend, redisBackend } from './fleet-scale.js';
import { heldAtScale } from './held-scale.js';
import { releaseSpread } from './release-spread.js';

const INSTANCES = Number(process.env.SCALE_INSTANCES ?? 50);
const TOGGLES = Number(process.env.SCALE_TOGGLES ?? 200);
const TENANTS = Number(process.env.SCALE_TENANTS ?? 10_000);
const quiet = { warn: () => undefined, info: () => undefined };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

function line(what: string, value: string, goal: string, met: boolean): void {
  console.log(`${what.padEnd(52)} ${value.padStart(14)}   goal ${goal.padEnd(12)} ${verdict(met)}`);
}

/** Resolves when every reader holds the state written by toggle `i`, polling on every turn of the event loop. */
async function allSee(readers: MaintenanceService[], want: boolean, by: string): Promise<void> {
  const deadline = performance.now() + 5000;
  for (;;) {
    if (readers.every((r) => r.lastKnownState().enabled === want && r.lastKnownState().updatedBy === by)) return;
    if (performance.now() > deadline) throw new Error(`not every instance saw toggle ${by} within 5 s`);
    await new Promise((r) => setImmediate(r));
  }
}

async function propagation(name: string, store: () => KeyvLike): Promise<void> {
  const service = () => new MaintenanceService({ store: store(), cacheTtlMs: 60_000, logger: quiet });
  const writer = service();
  const readers = Array.from({ length: INSTANCES }, service);
  try {
    await Promise.all(readers.map((r) => r.getState())); // each opens its subscriber connection
    await sleep(1000);
    const latencies: number[] = [];
    for (let i = 0; i < TOGGLES; i++) {
      const want = i % 2 === 0;
      const t0 = performance.now();
      await (want ? writer.enable({ by: `t${i}` }) : writer.disable({ by: `t${i}` }));
      await allSee(readers, want, `t${i}`);
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const reads = readers.reduce((n, r) => n + r.storeReads, 0) / readers.length;
    const p50 = pct(latencies, 50);
    const p99 = pct(latencies, 99);
    line(`${name}: toggle seen by ${INSTANCES} instances, p50`, `${p50.toFixed(2)} ms`, '', true);
    line(`${name}: toggle seen by ${INSTANCES} instances, p99`, `${p99.toFixed(2)} ms`, '<= 20 ms', p99 <= 20);
    line(`${name}: store reads per instance (pushed, not polled)`, reads.toFixed(1), '', true);
  } finally {
    await Promise.all([writer, ...readers].map((s) => s.close()));
  }
}

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

const heap = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};

async function scopes(redisUrl: string): Promise<void> {
  const writer = new MaintenanceService({ store: createRedisStore(redisUrl), cacheTtlMs: 0, logger: quiet });
  for (let i = 0; i < TENANTS; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, TENANTS - i) }, (_, j) =>
        writer.enable({ scope: `tenant-${i + j}`, message: `Tenant ${i + j} is migrating` }),
      ),
    );
  }
  const tenants = Array.from({ length: TENANTS * 2 }, (_, i) => `tenant-${i}`); // half in maintenance, half not
  const service = new MaintenanceService({ store: createRedisStore(redisUrl), logger: quiet });
  await service.getState();
  const before = resources();
  const heapBefore = heap();
  const table = await service.scopeStates();
  const heapWith = heap();
  // The states themselves: the names and the parsed states again, in plain arrays (what any holder of them needs).
  const names = [...table.keys()].map((k) => `${k} `.trim());
  const states = [...table.values()].map((v) => JSON.parse(JSON.stringify(v)));
  const statesBytes = heap() - heapWith;
  const added = heapWith - heapBefore - statesBytes;
  names.length = 0;
  states.length = 0;

  const app = new Koa();
  let n = 0;
  const middleware = maintenance({ service, scope: () => tenants[n++ % tenants.length] });
  const next = () => Promise.resolve();
  const { IncomingMessage, ServerResponse } = await import('node:http');
  const { Socket } = await import('node:net');
  const req = new IncomingMessage(new Socket());
  Object.assign(req, { url: '/dashboard', method: 'GET', headers: { host: 'bench', accept: 'application/json' } });
  const requests = 200_000;
  const readsBefore = service.storeReads;
  let blocked = 0;
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) {
    const ctx = app.createContext(req, new ServerResponse(req));
    await middleware(ctx as never, next);
    if (ctx.status === 503) blocked++;
    if (i % 20_000 === 0) await sleep(50); // let time pass: the cache refreshes as it would under load
  }
  const seconds = (performance.now() - t0) / 1000;
  const readsPerRequest = (service.storeReads - readsBefore) / requests;
  const after = resources();
  const grown = Object.keys({ ...before, ...after }).filter((k) => (after[k] ?? 0) > (before[k] ?? 0));

  console.log(`\n${TENANTS} tenant scopes in maintenance on Redis, ${TENANTS} more without, one process:`);
  line('scope table held in memory', `${table.size} scopes`, '', table.size === TENANTS);
  line('the states themselves (names and states, rebuilt)', `${(statesBytes / 1e6).toFixed(2)} MB`, '', true);
  line('memory added beyond the states', `${(added / 1e6).toFixed(3)} MB`, '<= 1 MB', added <= 1e6);
  line(
    `store reads per request (${requests} requests, ${seconds.toFixed(1)} s)`,
    readsPerRequest.toExponential(2),
    '< 1e-4',
    readsPerRequest < 1e-4,
  );
  line('blocked share (half the tenants are in maintenance)', `${((100 * blocked) / requests).toFixed(1)} %`, '', true);
  line(
    'timers or connections added while serving all tenants',
    grown.length === 0 ? 'none' : grown.join(', '),
    'none',
    grown.length === 0,
  );
  await Promise.all([writer.close(), service.close()]);
}

async function main() {
  const only = process.env.SCALE_ONLY; // 'propagation', 'scopes', 'held', 'release' or 'fleet': one part
  const redis = await startRedis();
  // 200 fleet instances: a LISTEN connection and a pool each (only the parts that use PostgreSQL start it).
  const postgres = !only || only === 'propagation' || only === 'fleet' ? await startPostgres(1200) : undefined;
  const pgUrl = () => postgres?.url ?? '';
  try {
    console.log(`node ${process.version}, ${INSTANCES} instances, ${TOGGLES} toggles`);
    if (!only || only === 'propagation') {
      await propagation('Redis', () => createRedisStore(redis.url));
      await propagation('PostgreSQL', () => createPostgresStore(pgUrl()));
    }
    if (!only || only === 'scopes') await scopes(redis.url);
    if (!only || only === 'held') {
      console.log('\nHeld requests: one instance holding them while maintenance is on (hold), on Redis:');
      await heldAtScale(redis.url);
    }
    if (!only || only === 'held' || only === 'release') {
      console.log('\nHeld requests released onto a cold app (hold.releaseSpreadMs), on Redis:');
      await releaseSpread(redis.url);
    }
    if (!only || only === 'fleet') {
      console.log('\nThe fleet: instances in 4 worker processes, each with its own store connections:');
      const stores = process.env.FLEET_STORES ?? 'redis,postgres'; // or one of them
      if (stores.includes('redis')) await fleetAtScale(await redisBackend(redis.url));
      if (stores.includes('postgres')) await fleetAtScale(await postgresBackend(pgUrl()));
    }
  } finally {
    await redis.dispose();
    await postgres?.dispose();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
