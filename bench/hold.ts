/**
 * `npm run bench:hold`: hold and release under load. Two app instances (separate processes, `hold` on) share one
 * Redis; autocannon loads both while a third process-like service switches maintenance on for a 2-second window.
 * Prints the non-2xx answers (goal 0) and the longest latency against the window (goal <= window + 50 ms).
 * A benchmark, not a test.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createRedisStore, MaintenanceService } from '../src/index.js';
import { spawnChild } from '../test/helpers/children.js';
import { startRedis } from '../test/helpers/redis.js';

const WINDOW_MS = Number(process.env.HOLD_WINDOW_MS ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const PIN = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(dir: string, redisUrl: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const args = [join(__dirname, 'server.js'), 'hold', dir, redisUrl];
    const child = PIN
      ? spawnChild('taskset', ['-c', '1', process.execPath, ...args], {
          stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        })
      : spawnChild(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { port: number }) => resolve({ child, port: m.port }));
    child.once('error', reject);
  });
}

async function main() {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), 'kmm-hold-'));
  const servers = [await start(dir, redis.url), await start(dir, redis.url)];
  const operator = new MaintenanceService({ store: createRedisStore(redis.url) });
  try {
    await operator.disable();
    const load = (port: number, seconds: number) =>
      autocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration: seconds, timeout: 30 });
    await Promise.all(servers.map((s) => load(s.port, 1))); // warm up
    const baseline = await Promise.all(servers.map((s) => load(s.port, 2)));
    const seconds = Math.ceil((1500 + WINDOW_MS + 1500) / 1000);
    const running = Promise.all(servers.map((s) => load(s.port, seconds)));
    await sleep(1500);
    const on = performance.now();
    await operator.enable({ message: 'database failover' });
    await sleep(WINDOW_MS);
    await operator.disable();
    const windowMs = performance.now() - on;
    const results = await running;
    const non2xx = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
    const total = results.reduce((n, r) => n + r.requests.total, 0);
    const maxLatency = Math.max(...results.map((r) => r.latency.max));
    const baseP99 = Math.max(...baseline.map((r) => r.latency.p99));
    const added = maxLatency - windowMs;
    console.log(
      `\nhold and release: 2 instances sharing Redis, ${CONNECTIONS} connections each${PIN ? ', servers on CPU 1' : ''}`,
    );
    console.log(`window ${windowMs.toFixed(0)} ms, ${total} requests during the run (baseline p99 ${baseP99} ms)`);
    console.log(
      `non-2xx answers      ${String(non2xx).padStart(8)}   goal 0            ${non2xx === 0 ? 'met' : 'MISSED'}`,
    );
    console.log(
      `longest latency      ${maxLatency.toFixed(0).padStart(6)} ms   goal <= window + 50 ms (${(windowMs + 50).toFixed(0)} ms)  ${added <= 50 ? 'met' : 'MISSED'}`,
    );
    console.log(`added beyond window  ${added.toFixed(0).padStart(6)} ms`);
  } finally {
    await operator.close();
    for (const { child } of servers) child.send({ type: 'exit' });
    await sleep(300);
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
