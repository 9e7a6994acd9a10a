/**
 * `npm run bench:live` (#34): 10,000 open `GET /maintenance-mode/events` streams on one app instance (a child process,
 * in-memory store: the switch is made in the instance, so the figure is the stream's own work, not a store's push —
 * `bench:scale` measures that). Prints the heap each stream costs the server (after a GC; Node's socket, request and
 * response objects and Koa's context included), the timers it adds (goal: none per stream), its CPU while the streams
 * are idle (the once-a-second look and a keep-alive round included) and the time from a switch until the last of the
 * 10,000 clients has read the event (goal ≤ 1 s), over several switches.
 *   node --expose-gc build/bench/live.js            the bench (starts the server below)
 *   node --expose-gc build/bench/live.js server     the instance
 */
import { createHook } from 'node:async_hooks';
import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import Keyv from 'keyv';
import Koa from 'koa';
import { MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';

const CLIENTS = Number(process.env.LIVE_CLIENTS ?? 10_000);
const IDLE_MS = Number(process.env.LIVE_IDLE_MS ?? 30_000);
const SWITCHES = Number(process.env.LIVE_SWITCHES ?? 6);
const BATCH = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stats {
  cpuUs: number;
  /** Timers made since tracking began (`track`) and still pending, unref'd ones included. */
  timers: number;
  heapUsed: number;
  rss: number;
}

/** Counts the timers made while it is on and still pending (async_hooks sees unref'd ones too). */
function timerTracker() {
  const pending = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') pending.add(id);
    },
    destroy(id) {
      pending.delete(id);
    },
  });
  return { start: () => hook.enable(), stop: () => hook.disable(), count: () => pending.size };
}

/** The instance: maintenance() and the routes with events, caps wide enough for one address to open them all. */
async function server(): Promise<void> {
  process.once('disconnect', () => process.exit(0)); // never outlive the bench
  const service = new MaintenanceService({ store: new Keyv() });
  await service.disable();
  const app = new Koa();
  app.use(maintenance({ service, presence: false }));
  app.use(maintenanceRoutes({ service, live: { maxClients: CLIENTS, maxPerClient: CLIENTS } }).routes());
  const listening = app.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (listening.address() as { port: number }).port });
  });
  listening.maxConnections = CLIENTS + 100;
  const timers = timerTracker();
  process.on('message', async (msg: { type: string; gc?: boolean; on?: boolean; track?: boolean }) => {
    if (msg.type === 'track') {
      if (msg.track) timers.start();
      else timers.stop();
      process.send?.({});
    } else if (msg.type === 'stats') {
      if (msg.gc) {
        for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
      }
      const cpu = process.cpuUsage();
      const { heapUsed, rss } = process.memoryUsage();
      process.send?.({ cpuUs: cpu.user + cpu.system, timers: timers.count(), heapUsed, rss });
    } else if (msg.type === 'switch') {
      await (msg.on ? service.enable({ by: 'bench', message: 'Back soon' }) : service.disable({ by: 'bench' }));
      process.send?.({ switched: true });
    } else if (msg.type === 'exit') {
      await service.close();
      listening.closeAllConnections();
      process.exit(0);
    }
  });
}

function ask<T>(child: ChildProcess, msg: object): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m: T) => resolve(m));
    child.send(msg);
  });
}

function line(what: string, value: string, goal: string, met: boolean | undefined): void {
  const verdict = met === undefined ? '' : met ? 'met' : 'MISSED';
  console.log(
    `${what.padEnd(58)} ${value.padStart(16)}   ${goal ? `goal ${goal}`.padEnd(14) : ''.padEnd(14)} ${verdict}`,
  );
}

/** One client: a raw HTTP/1.1 request for the stream, counting the state events it reads. */
interface Client {
  readonly socket: Socket;
  events: number;
  /** When it read its last event (`performance.now()`). */
  at: number;
}

function open(port: number, onEvent: () => void): Client {
  const socket = connect(port, '127.0.0.1');
  const client: Client = { socket, events: 0, at: 0 };
  let tail = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    const text = tail + chunk;
    let from = 0;
    for (let at = text.indexOf('event: state\n', from); at >= 0; at = text.indexOf('event: state\n', from)) {
      client.events++;
      client.at = performance.now();
      from = at + 13;
      onEvent();
    }
    tail = text.slice(Math.max(from, text.length - 12));
  });
  socket.on('error', () => undefined);
  socket.write('GET /maintenance-mode/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n');
  return client;
}

async function bench(): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', __filename, 'server'], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', resolve));
  const clients: Client[] = [];
  let read = 0;
  const counted = () => {
    read++;
  };
  try {
    // Warm the route up, then the baseline.
    for (let i = 0; i < 50; i++) {
      const c = open(port, counted);
      while (c.events === 0) await sleep(5);
      c.socket.destroy();
    }
    await sleep(500);
    read = 0;
    const before = await ask<Stats>(child, { type: 'stats', gc: true });
    await ask(child, { type: 'track', track: true });
    for (let i = 0; i < CLIENTS; i += BATCH) {
      for (let j = i; j < Math.min(CLIENTS, i + BATCH); j++) clients.push(open(port, counted));
      while (read < clients.length) await sleep(5); // each has its first event: connected and counted
    }
    await sleep(1000);
    await ask(child, { type: 'track', track: false });
    const held = await ask<Stats>(child, { type: 'stats', gc: true });
    const t0 = performance.now();
    await sleep(IDLE_MS);
    const idle = await ask<Stats>(child, { type: 'stats' });
    const cpuShare = (idle.cpuUs - held.cpuUs) / 1000 / (performance.now() - t0);
    const perHeap = (held.heapUsed - before.heapUsed) / CLIENTS;
    const perRss = (held.rss - before.rss) / CLIENTS;
    line(
      `${CLIENTS} open /events streams: heap per stream`,
      `${(perHeap / 1024).toFixed(2)} KiB`,
      '≤ 8 KiB',
      perHeap <= 8192,
    );
    line(`${CLIENTS} open /events streams: RSS per stream`, `${(perRss / 1024).toFixed(2)} KiB`, '', undefined);
    line(
      `${CLIENTS} open /events streams: timers made, still pending`,
      `${held.timers}`,
      'none per stream',
      held.timers <= 5, // the hub's one, the caches': a handful whatever the number of streams
    );
    line(
      `${CLIENTS} open /events streams: server CPU while idle (${IDLE_MS / 1000} s)`,
      `${(cpuShare * 100).toFixed(3)} % of a core`,
      '',
      undefined,
    );
    const lasts: number[] = [];
    for (let s = 0; s < SWITCHES; s++) {
      const want = clients.map((c) => c.events + 1);
      const start = performance.now();
      await ask(child, { type: 'switch', on: s % 2 === 0 });
      while (clients.some((c, i) => c.events < want[i])) await sleep(2);
      lasts.push(Math.max(...clients.map((c) => c.at)) - start);
      await sleep(500);
    }
    const sorted = [...lasts].sort((a, b) => a - b);
    const worst = sorted[sorted.length - 1];
    line(
      `switch -> last of ${CLIENTS} clients told (${SWITCHES} switches)`,
      `${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms median, ${worst.toFixed(0)} max`,
      '≤ 1000 ms',
      worst <= 1000,
    );
    const after = await ask<Stats>(child, { type: 'stats', gc: true });
    line(
      `${CLIENTS} open /events streams: heap after ${SWITCHES} switches`,
      `${((after.heapUsed - before.heapUsed) / CLIENTS / 1024).toFixed(2)} KiB`,
      '',
      undefined,
    );
  } finally {
    for (const c of clients) c.socket.destroy();
    child.send({ type: 'exit' });
    await new Promise((r) => child.once('exit', r));
  }
}

if (process.argv[2] === 'server') void server();
else
  void bench().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
