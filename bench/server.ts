/** One benchmark server (a child process of bench/run.ts): bare Koa, or Koa with maintenance() in one setup. */
import 'reflect-metadata';
import { join } from 'node:path';
import Koa from 'koa';
import { CATALOGS, createPostgresStore, createRedisStore, MaintenanceService, maintenance } from '../src/index.js';
import { createRenderer } from '../src/koa/render.js';
import { NO_CACHE } from '../src/koa/respond.js';
import { addHundredWindows } from './windows.js';

/** Message of the on-page scenario (ref-page sends the same bytes without the library). */
const MESSAGE = 'Benchmarking the maintenance page';

const [scenario, stateDir, redisUrl, postgresUrl] = process.argv.slice(2);

/**
 * `BENCH_TIME_SCALE` stretches the service's clocks (cache refresh, presence heartbeat) by that factor: under
 * callgrind a server runs ~50x slower, and unscaled, work done once a second would be counted against 50x fewer
 * requests than at full speed (bench/instructions.ts sets it to its slowdown).
 */
const SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1);
const cacheTtlMs = 1000 * SCALE;
/**
 * The default store timeout (500 ms), stretched too: under callgrind a read of the state file can take longer than
 * 500 ms of wall time, and a setup step that timed out ended the server (rows failed at random on a loaded machine).
 */
const storeTimeoutMs = Math.min(500 * SCALE, 60_000);
const presence = { intervalMs: Math.min(5000 * SCALE, 600_000) };

/**
 * The tightest plain-Koa sender of the maintenance answer's bytes (the reference rows `ref-page` and `ref-json`): the
 * very same status, headers (in the same order) and body, with the headers set from one prepared object, `Expires`
 * formatted at most once a second and the body a prebuilt Buffer — no Date, MIME lookup or formatting per request.
 */
function sendLikeMaintenance(type: string, body: Buffer): Koa.Middleware {
  const headers = {
    'Cache-Control': NO_CACHE,
    Expires: '',
    'Retry-After': '3600',
    Vary: 'Accept-Language',
    'Content-Language': 'en',
    'Content-Type': type,
  };
  let second = -1;
  return (ctx) => {
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      headers.Expires = new Date((now - 1) * 1000).toUTCString();
    }
    ctx.status = 503;
    ctx.set(headers);
    ctx.body = body;
  };
}

/** How long one request of the `hold-cold` app takes (a cold app: first queries on empty caches). */
const COLD_MS = Number(process.env.HOLD_COLD_MS ?? 50);
/** Requests inside the `hold-cold` app now, and the most at once since the last `stats` that asked to reset it. */
let inside = 0;
let peak = 0;

async function build(): Promise<{ app: Koa; service?: MaintenanceService }> {
  const app = new Koa();
  if (scenario === 'bare') {
    app.use((ctx) => {
      ctx.body = 'hello';
    });
    return { app };
  }
  if (scenario === 'ref-page') {
    // The ceiling for any maintenance library: plain Koa sending the very same 503 bytes and headers
    // (Cache-Control, Expires, Retry-After, Vary, Content-Language, Content-Type) as tightly as it can.
    const page = Buffer.from(
      createRenderer({ viewsDir: [], template: '503.html' })({
        statusCode: 503,
        message: MESSAGE,
        retryAfter: 3600,
        lang: 'en',
        t: CATALOGS.en,
      }),
    );
    app.use(sendLikeMaintenance('text/html; charset=utf-8', page));
    return { app };
  }
  if (scenario === 'hold') {
    // bench/hold.ts: requests that meet a maintenance window wait for it to end (two of these share one Redis).
    const service = new MaintenanceService({ store: createRedisStore(redisUrl) });
    const maxMs = Number(process.env.HOLD_MAX_MS ?? 10_000);
    // All at once, as before the spread (#34): these rows measure the hold itself (its added latency, its cost per held
    // request); the spread adds up to releaseSpreadMs by design and has its own row (bench/release-spread.ts).
    const releaseSpreadMs = Number(process.env.HOLD_SPREAD_MS ?? 0);
    app.use(maintenance({ service, hold: { maxMs, maxHeld: 10_000, maxHeldPerClient: 10_000, releaseSpreadMs } }));
    app.use((ctx) => {
      ctx.body = 'hello';
    });
    return { app, service };
  }
  if (scenario === 'hold-cold') return holdCold(app);
  if (scenario === 'ref-json') {
    // The ceiling of the JSON answer: plain Koa sending the same bytes and headers as tightly as it can.
    const body = Buffer.from(JSON.stringify({ maintenance: true, message: MESSAGE, retryAfter: 3600 }));
    app.use(sendLikeMaintenance('application/json; charset=utf-8', body));
    return { app };
  }
  if (scenario.startsWith('probe-')) return probe(app);
  const service =
    scenario === 'off-redis'
      ? new MaintenanceService({ store: createRedisStore(redisUrl), cacheTtlMs, storeTimeoutMs })
      : scenario === 'off-postgres'
        ? new MaintenanceService({ store: createPostgresStore(postgresUrl), cacheTtlMs, storeTimeoutMs })
        : new MaintenanceService({ stateFilePath: join(stateDir, `${scenario}.json`), cacheTtlMs, storeTimeoutMs });
  await (scenario.startsWith('on-') ? service.enable({ message: MESSAGE }) : service.disable());
  if (scenario === 'off-windows') await addHundredWindows(service); // recurring windows, none active (#20)
  if (scenario === 'off-scope') app.use(await perTenant(service, presence));
  else app.use(maintenance({ service, presence, responseType: scenario === 'on-json' ? 'json' : 'html' }));
  app.use((ctx) => {
    ctx.body = 'hello';
  });
  return { app, service };
}

/**
 * A per-tenant app: requests spread over 1,000 tenants, one other tenant in maintenance (never requested). The tenant
 * names exist already, as in an app that reads them from the session or the host.
 */
async function perTenant(service: MaintenanceService, fleet: typeof presence | false): Promise<Koa.Middleware> {
  await service.enable({ scope: 'tenant-down', message: MESSAGE });
  const tenants = Array.from({ length: 1000 }, (_, i) => `tenant-${i}`);
  let n = 0;
  return maintenance({ service, presence: fleet, scope: () => tenants[n++ % 1000] });
}

/**
 * bench/release-spread.ts: held requests released onto a cold app, each request inside it for COLD_MS; `peak` counts
 * how many are inside at once. HOLD_SPREAD_MS unset: the default `releaseSpreadMs`.
 */
function holdCold(app: Koa): { app: Koa; service: MaintenanceService } {
  const service = new MaintenanceService({ store: createRedisStore(redisUrl) });
  const spread = process.env.HOLD_SPREAD_MS;
  const hold = { maxMs: 60_000, maxHeld: 10_000, maxHeldPerClient: 10_000 };
  app.use(maintenance({ service, hold: spread === undefined ? hold : { ...hold, releaseSpreadMs: Number(spread) } }));
  app.use(async (ctx) => {
    inside++;
    peak = Math.max(peak, inside);
    await new Promise((r) => setTimeout(r, COLD_MS));
    inside--;
    ctx.body = 'hello';
  });
  return { app, service };
}

/** Attribution probes (bench/probe.ts): the off path with one part of the setup taken away at a time. */
async function probe(app: Koa): Promise<{ app: Koa; service?: MaintenanceService }> {
  const Keyv = (await import('keyv')).default;
  const kind = scenario.slice('probe-'.length);
  const service =
    kind === 'memory' || kind === 'passthrough'
      ? new MaintenanceService({ store: new Keyv(), cacheTtlMs, storeTimeoutMs })
      : new MaintenanceService({ stateFilePath: join(stateDir, `${scenario}.json`), cacheTtlMs, storeTimeoutMs });
  await service.disable();
  if (kind === 'passthrough') app.use((_ctx, next) => next());
  else if (kind === 'scope-nopresence') app.use(await perTenant(service, false));
  else app.use(maintenance({ service, presence: kind === 'file-nopresence' ? false : presence }));
  app.use((ctx) => {
    ctx.body = 'hello';
  });
  return { app, service };
}

// The bench that started this server ended, or was killed (even with SIGKILL): never outlive it.
process.once('disconnect', () => process.exit(0));

build().then(({ app, service }) => {
  const server = app.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as { port: number }).port });
  });
  process.on('message', (msg: { type: string; gc?: boolean; resetPeak?: boolean }) => {
    if (msg.type === 'stats') {
      if (msg.gc) (globalThis as { gc?: () => void }).gc?.(); // with --expose-gc: memory without garbage
      const cpu = process.cpuUsage(); // this server's own CPU time (all its threads), read at the phase's edges
      const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const { heapUsed, rss } = process.memoryUsage();
      process.send?.({ reads: service?.storeReads ?? 0, cpuUs: cpu.user + cpu.system, timers, heapUsed, rss, peak });
      if (msg.resetPeak) peak = inside;
    }
    if (msg.type === 'exit') {
      void service?.close();
      server.close(() => process.exit(0));
    }
  });
});
