/**
 * `npm run bench`: bare Koa against Koa + maintenance() — off on the file store, on Redis, on PostgreSQL, with a
 * per-tenant scope over 1,000 tenants, and with 100 recurring windows defined; on with the 503 page and with JSON —
 * each server in its own process, loaded with autocannon. The primary figure is each server's **CPU time per request**
 * (`process.cpuUsage()` deltas over the measured phase, sent back over IPC), which does not swing with the scheduler
 * as req/s does on 2 cores: every round measures a scenario right next to its reference (ABBA order over rounds), and
 * the ratio is the median of the rounds' ratios, with their spread. Goals: off <= 1.02x bare Koa; the answers <= 1.05x
 * the tightest plain Koa sending the very same bytes and headers (`ref-page`, `ref-json`: prepared headers, `Expires`
 * formatted once a second, a prebuilt Buffer). A spread that crosses the goal says "inconclusive". req/s ratios are
 * printed beside, without a verdict. Then the middleware's own cost, in-process.
 * Its servers, Redis and PostgreSQL end with it: on exit, on SIGINT/SIGTERM/SIGHUP (test/helpers/children.ts), and a
 * server whose bench was killed outright ends when its IPC channel closes (bench/server.ts).
 * `npm run bench:hold` and `npm run bench:scale` measure hold and release, propagation and scopes at scale.
 * A benchmark, not a test.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { spawnChild } from '../test/helpers/children.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { hostileWindows } from './hostile-windows.js';
import { addHundredWindows } from './windows.js';

const SCENARIOS = [
  'bare',
  'off-file',
  'off-redis',
  'off-postgres',
  'off-scope',
  'off-windows',
  'on-page',
  'on-json',
  'ref-page',
  'ref-json',
] as const;
type Scenario = (typeof SCENARIOS)[number];
/** What each scenario is compared with, and the goal of that ratio. */
const REFERENCE: Partial<Record<Scenario, { ref: Scenario; goal: number }>> = {
  'off-file': { ref: 'bare', goal: 1.02 },
  'off-redis': { ref: 'bare', goal: 1.02 },
  'off-postgres': { ref: 'bare', goal: 1.02 },
  'off-scope': { ref: 'bare', goal: 1.02 },
  'off-windows': { ref: 'bare', goal: 1.02 },
  'on-page': { ref: 'ref-page', goal: 1.05 },
  'on-json': { ref: 'ref-json', goal: 1.05 },
};
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

// Servers on CPU 1, autocannon (this process, pinned by `npm run bench`) on CPU 0: with 2 cores, letting the
// scheduler mix them makes the figures drift by more than the overheads being measured.
const PIN = spawnSync('taskset', ['-c', '1', 'true']).status === 0;

function start(scenario: Scenario, dir: string, urls: Urls): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const args = [join(__dirname, 'server.js'), scenario, dir, urls.redis, urls.postgres];
    const child = PIN
      ? spawnChild('taskset', ['-c', '1', process.execPath, ...args], {
          stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        })
      : spawnChild(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('error', reject);
  });
}

/** The store servers the scenarios use. */
interface Urls {
  readonly redis: string;
  readonly postgres: string;
}

const ask = (child: ChildProcess): Promise<{ reads: number; cpuUs: number }> =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send({ type: 'stats' });
  });

/** One load phase against `server`: req/s, p99, requests, errors, and the server's CPU microseconds per request. */
async function measure(server: { child: ChildProcess; port: number }, seconds: number) {
  const before = (await ask(server.child)).cpuUs;
  const r = await autocannon({ url: `http://127.0.0.1:${server.port}/`, connections: CONNECTIONS, duration: seconds });
  const cpuUs = (await ask(server.child)).cpuUs - before;
  const total = r.requests.total;
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    total,
    errors: r.errors + r.non2xx,
    cpuPerRequest: cpuUs / total,
  };
}

type Run = Awaited<ReturnType<typeof measure>>;

/** "met" when every round's ratio is within the goal, "MISSED" when none is, else "inconclusive". */
function verdict(ratios: readonly number[], goal: number): string {
  if (Math.max(...ratios) <= goal) return 'met';
  if (Math.min(...ratios) > goal) return 'MISSED';
  return 'inconclusive';
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** What the in-process measurements load (only when they run: the HTTP rounds need none of it in this process). */
async function inProcessLibraries() {
  const { MaintenanceService, maintenance } = await import('../src/index.js');
  return {
    Koa: (await import('koa')).default,
    http: await import('node:http'),
    Socket: (await import('node:net')).Socket,
    Keyv: (await import('keyv')).default,
    MaintenanceService,
    maintenance,
  };
}

/**
 * The middleware's own cost per request, measured in-process (no sockets, so no scheduler noise): a Koa context is
 * created and passed through `maintenance()` (off, or on with the page) or through a pass-through middleware.
 */
async function inProcessCost(): Promise<Record<string, number>> {
  const { Koa, http, Socket, Keyv, MaintenanceService, maintenance } = await inProcessLibraries();
  const app = new Koa();
  const req = new http.IncomingMessage(new Socket());
  Object.assign(req, { url: '/shop', method: 'GET', headers: { host: 'bench' } });
  const next = () => Promise.resolve();
  const off = new MaintenanceService({ store: new Keyv() });
  await off.disable();
  const on = new MaintenanceService({ store: new Keyv() });
  await on.enable({ message: 'Benchmarking the maintenance page' });
  await off.enable({ scope: 'tenant-down' });
  // The file store keeps a fleet: its middleware joins it on the first request and counts requests in flight.
  const fleetDir = mkdtempSync(join(tmpdir(), 'kmm-bench-fleet-'));
  const inFleet = new MaintenanceService({ stateFilePath: join(fleetDir, 'state.json') });
  await inFleet.disable();
  // 100 recurring windows (#20): the next occurrence is scheduled, so the state in force is a scheduled window.
  const withWindows = new MaintenanceService({ store: new Keyv() });
  await addHundredWindows(withWindows);
  const tenants = Array.from({ length: 1000 }, (_, i) => `tenant-${i}`);
  let tenant = 0;
  const cases: Array<[string, (ctx: never, next: () => Promise<void>) => unknown]> = [
    ['pass-through', (_ctx, n) => n()],
    ['off', maintenance({ service: off }) as never],
    ['off-scope', maintenance({ service: off, scope: () => tenants[tenant++ % 1000] }) as never],
    ['off-file', maintenance({ service: inFleet, presence: false }) as never],
    ['off-fleet', maintenance({ service: inFleet, presence: { intervalMs: 60_000 } }) as never],
    ['off-100-windows', maintenance({ service: withWindows }) as never],
    ['on-page', maintenance({ service: on }) as never],
  ];
  const ctxOf = () => app.createContext(req, new http.ServerResponse(req)) as never;
  const timed = cases.map(([name, fn]) => [name, () => fn(ctxOf(), next)] as const);
  try {
    return { ...(await bestNsPerCall(timed, 200_000)), ...(await hostileHeaderCost()) };
  } finally {
    await inFleet.close();
    rmSync(fleetDir, { recursive: true, force: true });
  }
}

/** The best of 3 rounds of `n` calls of each case, in nanoseconds per call (rounds alternate between the cases). */
async function bestNsPerCall(
  cases: ReadonlyArray<readonly [string, (i: number) => unknown]>,
  n: number,
): Promise<Record<string, number>> {
  const best: Record<string, number> = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, call] of cases) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await call(i);
      best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, Number(process.hrtime.bigint() - t0) / n);
    }
  }
  return best;
}

/**
 * What a hostile `Accept-Language` costs (#17): a distinct ~15 kB header on every request (so no cached choice helps),
 * against a browser's header, on the blocked path (the page, in the visitor's language) and on the announce path
 * while a window is scheduled days ahead. Goal: at most 2x the normal header's cost.
 */
async function hostileHeaderCost(): Promise<Record<string, number>> {
  const { Koa, http, Socket, Keyv, MaintenanceService, maintenance } = await inProcessLibraries();
  const app = new Koa();
  const next = () => Promise.resolve();
  const normal = 'de-DE,de;q=0.9,en;q=0.8';
  const hostile = Array.from({ length: 512 }, (_, n) =>
    Array.from({ length: 1500 }, (_, i) => `x${n.toString(36)}-${i.toString(36)};q=0.${(i % 9) + 1}`).join(','),
  );
  const on = new MaintenanceService({ store: new Keyv() });
  await on.enable({ message: { en: 'Back soon', de: 'Gleich zurück' } });
  const ahead = new MaintenanceService({ store: new Keyv() });
  await ahead.enable({ start: new Date(Date.now() + 3 * 86_400_000), message: { en: 'Soon', de: 'Bald' } });
  const blocked = maintenance({ service: on }) as never as (ctx: never, n: () => Promise<void>) => Promise<void>;
  const announcing = maintenance({ service: ahead, announceBeforeSeconds: 3600 }) as never as typeof blocked;
  const request = (fn: typeof blocked, header: (i: number) => string) => (i: number) => {
    const req = new http.IncomingMessage(new Socket());
    Object.assign(req, { url: '/shop', method: 'GET', headers: { host: 'bench', 'accept-language': header(i) } });
    return fn(app.createContext(req, new http.ServerResponse(req)) as never, next);
  };
  const hostileOf = (i: number) => hostile[i % hostile.length];
  return bestNsPerCall(
    [
      ['page-normal-language', request(blocked, () => normal)],
      ['page-hostile-language', request(blocked, hostileOf)],
      ['announce-normal-language', request(announcing, () => normal)],
      ['announce-hostile-language', request(announcing, hostileOf)],
    ],
    20_000,
  );
}

/** Prints the hostile-header rows of {@link hostileHeaderCost}. */
function printHostile(cost: Record<string, number>): void {
  console.log(
    '\nA hostile Accept-Language (a distinct ~15 kB header per request) against a browser header, in-process:',
  );
  for (const path of ['page', 'announce'] as const) {
    const normal = cost[`${path}-normal-language`];
    const hostile = cost[`${path}-hostile-language`];
    const ratio = hostile / normal;
    console.log(
      `  ${path.padEnd(9)} normal ${(normal / 1000).toFixed(2)} us, hostile ${(hostile / 1000).toFixed(2)} us: ` +
        `${ratio.toFixed(2)}x  goal <= 2.00 ${ratio <= 2 ? 'met' : 'MISSED'}`,
    );
  }
}

async function main() {
  if (process.argv.includes('--hostile-header')) {
    printHostile(await hostileHeaderCost());
    await hostileWindows();
    return;
  }
  if (process.argv.includes('--in-process')) {
    const cost = await inProcessCost();
    for (const [name, ns] of Object.entries(cost)) console.log(`${name.padEnd(26)} ${ns.toFixed(0).padStart(7)} ns`);
    return;
  }
  const redis = await startRedis();
  const postgres = await startPostgres();
  const urls: Urls = { redis: redis.url, postgres: postgres.url };
  const dir = mkdtempSync(join(tmpdir(), 'kmm-bench-'));
  const servers = new Map<Scenario, { child: ChildProcess; port: number }>();
  try {
    for (const s of SCENARIOS) servers.set(s, await start(s, dir, urls));
    for (const s of SCENARIOS) await measure(servers.get(s) as never, 1); // warm up (JIT, connections)
    const before = new Map<Scenario, number>();
    for (const s of SCENARIOS) before.set(s, (await ask(servers.get(s)?.child as ChildProcess)).reads);
    // Each round: every scenario right next to its reference, in ABBA order over rounds (ref first, then last).
    const runs = new Map<Scenario, Run[]>();
    const refRuns = new Map<Scenario, Run[]>();
    const push = (m: Map<Scenario, Run[]>, s: Scenario, r: Run) => m.set(s, [...(m.get(s) ?? []), r]);
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of SCENARIOS) {
        const cmp = REFERENCE[s];
        if (!cmp) continue;
        const pair: Scenario[] = round % 2 === 0 ? [cmp.ref, s] : [s, cmp.ref];
        for (const x of pair) push(x === s ? runs : refRuns, s, await measure(servers.get(x) as never, SECONDS));
      }
    }
    console.log(
      `\n${ROUNDS} rounds x ${SECONDS} s, ${CONNECTIONS} connections (node ${process.version}${PIN ? ', servers pinned to CPU 1' : ''}).` +
        "\nCPU: the server's CPU time per request (process.cpuUsage over the phase). Ratio: the median of the rounds' ratios" +
        '\nagainst the reference measured right next to it, min-max beside it; "inconclusive" when the spread crosses the goal.',
    );
    console.log(
      'scenario     CPU/req   against   CPU ratio (min-max)        goal                 req/s ratio (min-max)   p99 ms  reads/req',
    );
    for (const s of SCENARIOS) {
      const cmp = REFERENCE[s];
      if (!cmp) continue;
      const rs = runs.get(s) ?? [];
      const refs = refRuns.get(s) ?? [];
      const cpu = rs.map((r, i) => r.cpuPerRequest / refs[i].cpuPerRequest);
      const rps = rs.map((r, i) => r.rps / refs[i].rps);
      const range = (xs: number[]) =>
        `${median(xs).toFixed(3)}x (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
      const total = rs.reduce((a, r) => a + r.total, 0);
      const reads = (await ask(servers.get(s)?.child as ChildProcess)).reads - (before.get(s) ?? 0);
      const us = median(rs.map((r) => r.cpuPerRequest));
      const refUs = median(refs.map((r) => r.cpuPerRequest));
      console.log(
        `${s.padEnd(12)} ${us.toFixed(1).padStart(5)} us  ${cmp.ref.padEnd(9)} ${range(cpu).padEnd(26)} <= ${cmp.goal.toFixed(2)} ${verdict(cpu, cmp.goal).padEnd(13)} ${range(rps).padEnd(23)} ${String(median(rs.map((r) => r.p99))).padStart(6)}  ${(reads / total).toExponential(1)}`,
      );
      console.log(`  ${cmp.ref} beside it: ${refUs.toFixed(1)} us per request (+${(us - refUs).toFixed(2)} us)`);
      if (rs.some((r) => r.errors > 0 && s.startsWith('off'))) console.log(`  ${s}: errors or non-2xx answers seen`);
    }
    const bare = median((refRuns.get('off-file') ?? []).map((r) => r.rps));
    const cost = await inProcessCost();
    printHostile(cost);
    const perRequest = 1e9 / bare;
    console.log(
      `\nIn-process cost per request (best of 3 x 200k, context creation included): pass-through ${cost['pass-through'].toFixed(0)} ns, ` +
        `maintenance off ${cost.off.toFixed(0)} ns (+${(cost.off - cost['pass-through']).toFixed(0)} ns), ` +
        `off with a per-tenant scope ${cost['off-scope'].toFixed(0)} ns (+${(cost['off-scope'] - cost['pass-through']).toFixed(0)} ns), ` +
        `off in a fleet (file store, joined: requests in flight counted) ${cost['off-fleet'].toFixed(0)} ns (+${(cost['off-fleet'] - cost['pass-through']).toFixed(0)} ns), ` +
        `off with 100 recurring windows defined ${cost['off-100-windows'].toFixed(0)} ns (+${(cost['off-100-windows'] - cost['pass-through']).toFixed(0)} ns), ` +
        `maintenance on with the page ${cost['on-page'].toFixed(0)} ns.`,
    );
    console.log(
      `Against bare Koa's ${(perRequest / 1000).toFixed(1)} us per request above, the off overhead is ` +
        `${((100 * (cost.off - cost['pass-through'])) / perRequest).toFixed(2)} %: an expected ratio of ` +
        `${(perRequest / (perRequest + cost.off - cost['pass-through'])).toFixed(3)}x; differences beyond that are run-to-run noise.`,
    );
  } finally {
    for (const { child } of servers.values()) child.send({ type: 'exit' });
    await new Promise((r) => setTimeout(r, 300));
    await redis.dispose();
    await postgres.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
