/**
 * `npm run bench:instructions`: instructions per HTTP request of each bench server, counted by valgrind's callgrind —
 * repeatable on this noisy 2-core VM where CPU time and req/s swing by tens of percent. Each server runs under
 * callgrind, is warmed up (12,000 requests: JIT tiers settle), then counted over measured phases of 4,000 requests
 * (counters zeroed before, dumped after), 8 connections; the first phase after the warm-up is dropped (it counts about
 * twice the others, seen every time here: work that follows the first zeroing). Every row runs in BENCH_PROCESSES
 * processes (default 2): now and then a process lands in a slower JIT state for its whole life (+5-10 %), and one
 * such process must not decide a row. Ratios against the reference, with every phase's range; the steady figure is
 * the least phase of all processes (one-off JIT compiles and GCs only add).
 * A benchmark, not a test (slow: about a minute per server process). Its servers end with it, even when it is killed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { track } from '../test/helpers/children.js';

const PAIRS: ReadonlyArray<[string, string, number]> = [
  ['off-file', 'bare', 1.02],
  ['probe-memory', 'bare', 1.02],
  ['probe-file-nopresence', 'bare', 1.02],
  ['off-scope', 'bare', 1.02],
  ['probe-scope-nopresence', 'bare', 1.02],
  ['off-windows', 'bare', 1.02],
  // The tightest plain-Koa sender of the same bytes (bench/server.ts): prepared headers, Expires once a second.
  ['on-page', 'ref-page', 1.05],
  ['on-json', 'ref-json', 1.05],
];
const WARM = Number(process.env.BENCH_WARM ?? 12_000);
const PHASE = Number(process.env.BENCH_PHASE ?? 4000);
const PHASES = Number(process.env.BENCH_PHASES ?? 3);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 2);
/**
 * How much slower a server runs under callgrind (measured here: 19.3k req/s of bare Koa at full
 * speed on 8 connections, 570 under callgrind: ~35x); the servers' clocks are stretched by it
 * (BENCH_TIME_SCALE), so what they do once a second is counted against as many requests as at full speed.
 */
const SLOWDOWN = Number(process.env.BENCH_SLOWDOWN ?? 35);

async function load(port: number, amount: number): Promise<void> {
  await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 8, amount });
}

/** Instructions per request of `scenario` in each measured phase. */
async function count(scenario: string): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-cg-'));
  const out = join(dir, 'cg.out');
  const child: ChildProcess = track(
    spawn(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${out}`,
        process.execPath,
        join(__dirname, 'server.js'),
        scenario,
        dir,
        '',
        '',
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, BENCH_TIME_SCALE: String(SLOWDOWN) } },
    ),
    `callgrind ${scenario}`,
  );
  try {
    // A server that ends early (a crash, a signal from outside) fails the row loudly instead of hanging or counting air.
    const ended = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`${scenario}: its server ended (${signal ?? code})`))),
    );
    ended.catch(() => undefined);
    const port = await Promise.race([
      new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port))),
      ended,
    ]);
    await Promise.race([load(port, WARM), ended]);
    const perRequest: number[] = [];
    for (let phase = 0; phase <= PHASES; phase++) {
      spawnSync('callgrind_control', ['-z', String(child.pid)]);
      await Promise.race([load(port, PHASE), ended]);
      spawnSync('callgrind_control', ['-d', String(child.pid)]);
      const newest = readdirSync(dir)
        .filter((f) => f.startsWith('cg.out.'))
        .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()))
        .pop() as string;
      const summary = /^summary: (\d+)/m.exec(readFileSync(join(dir, newest), 'utf8'));
      perRequest.push(Number(summary?.[1]) / PHASE);
    }
    return perRequest.slice(1);
  } finally {
    child.removeAllListeners('exit');
    child.kill();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('valgrind is not installed (Debian package valgrind): nothing counted.');
    return;
  }
  const cache = new Map<string, Promise<number[][]>>();
  // Now and then a server's Node internals land in a slower JIT state for its whole life (bare Koa at ~117k instead
  // of ~83k, seen alone on an idle machine; off-scope at 91k instead of 84.5k): every row gets the phases of
  // PROCESSES processes, so one that lands there decides nothing.
  const of = (s: string) => {
    if (!cache.has(s)) {
      const runs = Array.from({ length: PROCESSES }, () => s);
      cache.set(
        s,
        runs.reduce<Promise<number[][]>>(async (acc, r) => [...(await acc), await count(r)], Promise.resolve([])),
      );
    }
    return cache.get(s) as Promise<number[][]>;
  };
  console.log(
    `Instructions per request under callgrind (${WARM} warm-up, ${PHASES} x ${PHASE} counted, 8 connections, ` +
      `${PROCESSES} processes a row; the least phase, all phases' range, each process's least):`,
  );
  // A phase's count only grows with one-off work (a JIT compile, an old-space GC): the steady cost is each server's
  // least phase, and the ratio is theirs; the ranges show every phase.
  const only = process.argv.slice(2); // e.g. `node build/bench/instructions.js off-file on-page`: those rows
  for (const [scenario, ref, goal] of PAIRS.filter(([s]) => only.length === 0 || only.includes(s))) {
    const [a, b] = [(await of(scenario)).flat(), (await of(ref)).flat()];
    const ratio = Math.min(...a) / Math.min(...b);
    const k = (xs: number[]) => `${(Math.min(...xs) / 1000).toFixed(1)}-${(Math.max(...xs) / 1000).toFixed(1)}k`;
    const each = async (s: string) => (await of(s)).map((xs) => (Math.min(...xs) / 1000).toFixed(1)).join('/');
    console.log(
      `  ${scenario.padEnd(22)} ${k(a).padStart(13)}  ${ref.padEnd(9)} ${k(b).padStart(13)}  ` +
        `${ratio.toFixed(3)}x  goal <= ${goal.toFixed(2)} ${ratio <= goal ? 'met' : 'MISSED'}` +
        `   (processes: ${await each(scenario)}k; ${ref} ${await each(ref)}k)`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
