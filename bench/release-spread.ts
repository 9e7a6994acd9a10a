/**
 * The release of held requests onto a cold app (part of `npm run bench:scale`, #34): 5,000 requests held by one app
 * instance (`hold`, on a real Redis) go back to an app whose every request takes `HOLD_COLD_MS` (50 ms: first queries
 * on cold caches) when maintenance ends — once with the default `releaseSpreadMs` and once with 0 (all at once). Prints
 * the app's peak concurrency (requests inside it at once) of each; goal with the default spread: at most a tenth of
 * the held requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisStore, HOLD_DEFAULTS, MaintenanceService } from '../src/index.js';
import { holdMany, request } from './held-scale.js';

const HELD = Number(process.env.SCALE_HELD ?? 5000);
const COLD_MS = Number(process.env.HOLD_COLD_MS ?? 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function line(what: string, value: string, goal: string, met: boolean | undefined): void {
  const verdict = met === undefined ? '' : met ? 'met' : 'MISSED';
  console.log(`${what.padEnd(52)} ${value.padStart(14)}   goal ${goal.padEnd(12)} ${verdict}`);
}

/** The server's peak concurrency since the last reset (and resets it). */
function peakOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { peak: number }) => resolve(m.peak));
    child.send({ type: 'stats', resetPeak: true });
  });
}

interface Release {
  peak: number;
  ok: number;
  lastMs: number;
}

/** Holds HELD requests on a fresh server with `spread` (undefined: the default), releases them, and measures. */
async function release(redisUrl: string, spread: number | undefined): Promise<Release> {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-release-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOLD_COLD_MS: String(COLD_MS) };
  if (spread !== undefined) env.HOLD_SPREAD_MS = String(spread);
  const child = spawn(process.execPath, [join(__dirname, 'server.js'), 'hold-cold', dir, redisUrl], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env,
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const operator = new MaintenanceService({ store: createRedisStore(redisUrl) });
  const sockets: Socket[] = [];
  try {
    await operator.disable();
    for (let round = 0; round < 4; round++) {
      const warm = Array.from({ length: 50 }, () => request(port));
      await Promise.all(warm.map((r) => r.status));
      for (const r of warm) r.socket.destroy();
    }
    await operator.enable({ by: 'bench' });
    await sleep(500);
    const pending = await holdMany(port, HELD, sockets);
    await peakOf(child); // reset: the warm-up's peak does not count
    const t0 = performance.now();
    await operator.disable({ by: 'bench' });
    const codes = await Promise.all(pending);
    const lastMs = performance.now() - t0;
    await sleep(COLD_MS * 2); // the last ones leave the app
    return { peak: await peakOf(child), ok: codes.filter((c) => c === 200).length, lastMs };
  } finally {
    for (const s of sockets) s.destroy();
    await operator.close();
    child.send({ type: 'exit' });
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function releaseSpread(redisUrl: string): Promise<void> {
  const spread = await release(redisUrl, undefined);
  const burst = await release(redisUrl, 0);
  const goal = Math.floor(HELD / 10);
  const what = `${HELD} released onto a ${COLD_MS} ms app`;
  line(
    `${what}, spread ${HOLD_DEFAULTS.releaseSpreadMs} ms: app's peak`,
    `${spread.peak} at once`,
    `<= ${goal}`,
    spread.peak <= goal,
  );
  line(`${what}, all at once (0): app's peak`, `${burst.peak} at once`, '(reference)', undefined);
  line(
    `  spread: released with 200, last answer after`,
    `${spread.ok} in ${spread.lastMs.toFixed(0)} ms`,
    `${HELD}`,
    spread.ok === HELD,
  );
  line(
    `  at once: released with 200, last answer after`,
    `${burst.ok} in ${burst.lastMs.toFixed(0)} ms`,
    `${HELD}`,
    burst.ok === HELD,
  );
}
