/**
 * `node build/bench/probe.js [scenario…]`: CPU time per request of a few servers of bench/server.ts under the same
 * autocannon load, in alternating rounds — for attributing the off path's HTTP cost (the #23 investigation).
 * A benchmark, not a test.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { spawnChild } from '../test/helpers/children.js';

const names =
  process.argv.slice(2).length > 0
    ? process.argv.slice(2)
    : ['bare', 'probe-passthrough', 'probe-memory', 'probe-file-nopresence', 'probe-file'];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
/** A fixed request rate (req/s) for every server: equal load, so equal batching per wake-up; 0 = as fast as possible. */
const RATE = Number(process.env.BENCH_RATE ?? 8000);
const PIN = spawnSync('taskset', ['-c', '1', 'true']).status === 0;

function start(scenario: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  const args = [join(__dirname, 'server.js'), scenario, dir, '', ''];
  const child = PIN
    ? spawnChild('taskset', ['-c', '1', process.execPath, ...args], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
    : spawnChild(process.execPath, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', (m: { port: number }) => resolve({ child, port: m.port })));
}
const cpuOf = (child: ChildProcess): Promise<number> =>
  new Promise((resolve) => {
    child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    child.send({ type: 'stats' });
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-probe-'));
  const servers = await Promise.all(names.map((n) => start(n, dir)));
  const per = names.map(() => [] as number[]);
  try {
    for (const s of servers) await autocannon({ url: `http://127.0.0.1:${s.port}/`, connections: 32, duration: 1 });
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.map((_, i) => (round % 2 === 0 ? i : names.length - 1 - i));
      for (const i of order) {
        const s = servers[i];
        const before = await cpuOf(s.child);
        const r = await autocannon({
          url: `http://127.0.0.1:${s.port}/`,
          connections: 32,
          duration: SECONDS,
          ...(RATE > 0 ? { overallRate: RATE } : {}),
        });
        per[i].push(((await cpuOf(s.child)) - before) / r.requests.total);
      }
    }
    const base = per[0];
    for (let i = 0; i < names.length; i++) {
      const ratios = per[i].map((x, k) => x / base[k]);
      console.log(
        `${names[i].padEnd(24)} ${median(per[i]).toFixed(2).padStart(6)} us/req  vs ${names[0]} ${median(ratios).toFixed(3)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
      );
    }
  } finally {
    for (const s of servers) s.child.send({ type: 'exit' });
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
