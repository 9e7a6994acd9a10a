/**
 * `npm run bench:instructions`: instructions per HTTP request of each bench server, counted by valgrind's callgrind —
 * repeatable on this noisy 2-core VM where CPU time and req/s swing by tens of percent. Each server runs under
 * callgrind, is warmed up (12,000 requests: JIT tiers settle), then counted over measured phases of 4,000 requests
 * (counters zeroed before, dumped after), 8 connections; the first phase after the warm-up is dropped (it counts about
 * twice the others, seen every time here: work that follows the first zeroing). Ratios against the reference, with
 * every phase's range; the steady figure is the least phase (one-off JIT compiles and GCs only add).
 * A benchmark, not a test (slow: about a minute per server).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

const PAIRS: ReadonlyArray<[string, string, number]> = [
  ['off-file', 'bare', 1.02],
  ['probe-memory', 'bare', 1.02],
  ['probe-file-nopresence', 'bare', 1.02],
  ['off-scope', 'bare', 1.02],
  ['probe-scope-nopresence', 'bare', 1.02],
  ['off-windows', 'bare', 1.02],
  ['on-page', 'bare-page', 1.05],
  ['on-json', 'bare-json', 1.05],
];
const WARM = Number(process.env.BENCH_WARM ?? 12_000);
const PHASE = Number(process.env.BENCH_PHASE ?? 4000);
const PHASES = Number(process.env.BENCH_PHASES ?? 3);
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
  const child: ChildProcess = spawn(
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
  );
  try {
    const port = await new Promise<number>((resolve) =>
      child.once('message', (m: { port: number }) => resolve(m.port)),
    );
    await load(port, WARM);
    const perRequest: number[] = [];
    for (let phase = 0; phase <= PHASES; phase++) {
      spawnSync('callgrind_control', ['-z', String(child.pid)]);
      await load(port, PHASE);
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
  const cache = new Map<string, Promise<number[]>>();
  // Now and then a server's Node internals land in a slower JIT state for its whole life (bare Koa at ~117k instead
  // of ~83k, seen alone on an idle machine): a reference gets the phases of two processes, so one that lands there
  // cannot make a row look good (a scenario that lands there looks worse: the error is on the safe side).
  const references = new Set(PAIRS.map(([, ref]) => ref));
  const of = (s: string) => {
    if (!cache.has(s)) {
      const runs = references.has(s) ? [s, s] : [s];
      cache.set(
        s,
        runs.reduce<Promise<number[]>>(async (acc, r) => [...(await acc), ...(await count(r))], Promise.resolve([])),
      );
    }
    return cache.get(s) as Promise<number[]>;
  };
  console.log(
    `Instructions per request under callgrind (${WARM} warm-up, ${PHASES} x ${PHASE} counted, 8 connections):`,
  );
  // A phase's count only grows with one-off work (a JIT compile, an old-space GC): the steady cost is each server's
  // least phase, and the ratio is theirs; the ranges show every phase.
  const only = process.argv.slice(2); // e.g. `node build/bench/instructions.js off-file on-page`: those rows
  for (const [scenario, ref, goal] of PAIRS.filter(([s]) => only.length === 0 || only.includes(s))) {
    const [a, b] = [await of(scenario), await of(ref)];
    const ratio = Math.min(...a) / Math.min(...b);
    const k = (xs: number[]) => `${(Math.min(...xs) / 1000).toFixed(1)}-${(Math.max(...xs) / 1000).toFixed(1)}k`;
    console.log(
      `  ${scenario.padEnd(22)} ${k(a).padStart(13)}  ${ref.padEnd(9)} ${k(b).padStart(13)}  ` +
        `${ratio.toFixed(3)}x  goal <= ${goal.toFixed(2)} ${ratio <= goal ? 'met' : 'MISSED'}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
