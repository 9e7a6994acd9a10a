/**
 * `npm run bench:hostile` rows for recurring windows (#30): what adding a costly or never-occurring rule costs the
 * process (CPU time, the event loop blocked for as long), and what the anonymous feeds (`windows.ics`, `public.json`)
 * cost per request with 100 monthly windows, against a page of the same app. Goals: adding any window <= ~50 ms;
 * a feed request at most a few times a page request (5x). A benchmark, not a test.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';

const silent = { warn: () => undefined, info: () => undefined };
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 16);

/** CPU milliseconds `fn` costs (all threads), the longest the event loop was blocked meanwhile, and how it ended. */
async function cpuMs(fn: () => Promise<unknown>): Promise<{ ms: number; blockedMs: number; outcome: string }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  await new Promise((r) => setTimeout(r, 5));
  const before = process.cpuUsage();
  const outcome = await fn().then(
    () => 'accepted',
    (err: Error) => `refused: ${err.message.slice(0, 48)}`,
  );
  const used = process.cpuUsage(before);
  await new Promise((r) => setTimeout(r, 5));
  delay.disable();
  return { ms: (used.user + used.system) / 1000, blockedMs: delay.max / 1e6, outcome };
}

const COSTLY = 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1,2,3,4,5,6,7;COUNT=9999999';
const RULES: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['BYSETPOS COUNT=9999999 from 1900', { rrule: COSTLY, start: '1900-01-01T00:00' }],
  ['BYSETPOS COUNT=9999999, a week back', { rrule: COSTLY, start: daysAgo(7) }],
  ['FEBRUARY 30 (never), yearly', { rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', start: '03:00' }],
  [
    'FEBRUARY 30 (never), weekly BYSETPOS',
    {
      rrule: 'FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=1,2,3,4,5,6,7',
      start: '03:00',
    },
  ],
  ['leap day, daily (rare but real)', { rrule: 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29', start: '03:00' }],
];

async function addCosts(): Promise<void> {
  console.log("\nAdding a window: the longest the event loop is blocked. Goal <= ~50 ms (60 with the timer's slack):");
  const warm = new MaintenanceService({ store: new Keyv(), logger: silent });
  await warm.addWindow({ rrule: 'FREQ=WEEKLY;BYDAY=MO;BYSETPOS=1', tz: 'UTC', start: '03:00', durationMinutes: 5 });
  await warm.close();
  for (const [label, rule] of RULES) {
    const service = new MaintenanceService({ store: new Keyv(), logger: silent });
    const { ms, blockedMs, outcome } = await cpuMs(() =>
      service.addWindow({ tz: 'UTC', durationMinutes: 30, ...rule } as never),
    );
    console.log(
      `  ${label.padEnd(38)} loop blocked ${blockedMs.toFixed(1).padStart(6)} ms ` +
        `${blockedMs <= 60 ? 'met   ' : 'MISSED'} (CPU, all threads ${ms.toFixed(1)} ms)  ${outcome}`,
    );
    await service.close();
  }
}

/** CPU microseconds per request of `path`, the best of 3 rounds of `n`. */
async function perRequest(request: () => supertest.Agent, path: string, n: number): Promise<number> {
  await request().get(path);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await request().get(path);
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / n);
  }
  return best;
}

async function feedCosts(): Promise<void> {
  const service = new MaintenanceService({ store: new Keyv(), logger: silent });
  for (let i = 0; i < 100; i++) {
    await service.addWindow({
      rrule: `FREQ=MONTHLY;BYMONTHDAY=${(i % 28) + 1}`,
      tz: 'Europe/Berlin',
      start: '02:00',
      durationMinutes: 30,
      message: `Monthly upkeep ${i}`,
    });
  }
  const app = new Koa();
  app.use(maintenanceRoutes({ service, publicStatus: true, isSuperuser: () => false }).routes());
  app.use(maintenance({ service }));
  app.use((ctx) => {
    ctx.body = 'the site';
  });
  const request = () => supertest(app.callback());
  const n = Number(process.env.BENCH_FEED_REQUESTS ?? 200);
  const page = await perRequest(request, '/', n);
  console.log('\nAnonymous feeds with 100 monthly windows, CPU per request (client in-process). Goal <= 5x a page:');
  console.log(`  page                 ${(page / 1000).toFixed(2).padStart(8)} ms`);
  for (const path of ['/maintenance-mode/windows.ics', '/maintenance-mode/public.json']) {
    const cost = await perRequest(request, path, n);
    const ratio = cost / page;
    console.log(
      `  ${path.replace('/maintenance-mode/', '').padEnd(20)} ${(cost / 1000).toFixed(2).padStart(8)} ms  ` +
        `${ratio.toFixed(2)}x  ${ratio <= 5 ? 'met' : 'MISSED'}`,
    );
  }
  await service.close();
}

/** Prints the window rows of `npm run bench:hostile`. */
export async function hostileWindows(): Promise<void> {
  await addCosts();
  await feedCosts();
}
