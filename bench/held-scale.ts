/**
 * Held requests at scale (part of `npm run bench:scale`): 5,000 requests held by one app instance (`hold`, on a real
 * Redis) while maintenance is on. Prints the memory each held request costs the server (heap and RSS, after a GC, the
 * request's own Node objects included), the server's CPU while they wait (goal < 5 % of a core) and its timers
 * (goal: none per request), then that every one of them is released with a 200 when maintenance ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedisStore, MaintenanceService } from '../src/index.js';

const HELD = Number(process.env.SCALE_HELD ?? 5000);
const MEASURE_MS = Number(process.env.SCALE_HELD_MS ?? 10_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stats {
  cpuUs: number;
  timers: number;
  heapUsed: number;
  rss: number;
}

function line(what: string, value: string, goal: string, met: boolean): void {
  console.log(`${what.padEnd(52)} ${value.padStart(14)}   goal ${goal.padEnd(12)} ${met ? 'met' : 'MISSED'}`);
}

function stats(child: ChildProcess, gc = false): Promise<Stats> {
  return new Promise((resolve) => {
    child.once('message', (m: Stats) => resolve(m));
    child.send({ type: 'stats', gc });
  });
}

/** One raw HTTP/1.1 request on its own connection; resolves with the status line's code once the answer begins. */
export function request(port: number): { socket: Socket; status: Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const status = new Promise<number>((resolve) => {
    socket.once('data', (chunk) => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString('latin1'))?.[1] ?? 0)));
    socket.once('error', () => resolve(0));
  });
  socket.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
  return { socket, status };
}

/**
 * Opens `count` requests a few hundred at a time (as a busy site's visitors arrive), each on its own connection kept
 * in `sockets`, and waits until the server has read them all; resolves with their statuses to come.
 */
export async function holdMany(port: number, count: number, sockets: Socket[]): Promise<Array<Promise<number>>> {
  const pending: Array<Promise<number>> = [];
  for (let i = 0; i < count; i++) {
    const r = request(port);
    sockets.push(r.socket);
    pending.push(r.status);
    if (i % 500 === 499) await sleep(20);
  }
  await sleep(2000); // all of them read and held
  return pending;
}

export async function heldAtScale(redisUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-held-'));
  const child = spawn(process.execPath, ['--expose-gc', join(__dirname, 'server.js'), 'hold', dir, redisUrl], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, HOLD_MAX_MS: String(MEASURE_MS + 60_000) },
  });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const operator = new MaintenanceService({ store: createRedisStore(redisUrl) });
  const sockets: Socket[] = [];
  try {
    await operator.disable();
    for (let i = 0; i < 200; i++) await request(port).status.then(() => undefined); // warm up (and join the fleet)
    await operator.enable({ by: 'bench' });
    await sleep(500);
    const before = await stats(child, true);
    const pending = await holdMany(port, HELD, sockets);
    const held = await stats(child, true);
    const t0 = performance.now();
    await sleep(MEASURE_MS);
    const after = await stats(child);
    const cpuShare = (after.cpuUs - held.cpuUs) / 1000 / (performance.now() - t0);
    const t1 = performance.now();
    await operator.disable({ by: 'bench' });
    const codes = await Promise.all(pending);
    const releasedMs = performance.now() - t1;
    const ok = codes.filter((c) => c === 200).length;
    const perHeap = (held.heapUsed - before.heapUsed) / HELD;
    const perRss = (held.rss - before.rss) / HELD;
    line(`${HELD} held requests: heap per request`, `${(perHeap / 1024).toFixed(1)} KiB`, '', true);
    line(`${HELD} held requests: RSS per request`, `${(perRss / 1024).toFixed(1)} KiB`, '', true);
    line(
      `${HELD} held requests: server CPU while they wait`,
      `${(cpuShare * 100).toFixed(2)} % of a core`,
      '< 5 %',
      cpuShare < 0.05,
    );
    line(
      `${HELD} held requests: timers in the server`,
      `${before.timers} -> ${held.timers}`,
      'none added',
      held.timers - before.timers <= 2,
    );
    line(`${HELD} held requests: released with 200`, `${ok} in ${releasedMs.toFixed(0)} ms`, `${HELD}`, ok === HELD);
  } finally {
    for (const s of sockets) s.destroy();
    await operator.close();
    child.send({ type: 'exit' });
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}
