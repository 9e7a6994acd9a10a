import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import { createRedisStore, hashSecret, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger, createTestApp, pushesReach } from './helpers/app.js';
import { cliProcess } from './helpers/cli.js';
import { expectNoForgery, expectSecretWorks } from './helpers/forge.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, sleep, until } from './helpers/wait.js';

const STATE_KEY = 'maintenance-mode::maintenance_mode_state';

/**
 * The tests of bounds stall Redis: a call bounded by storeTimeoutMs ends within BOUND_MS (the bound plus seconds of
 * slack for a loaded machine: Node's start, the bounded close), while whatever waited for Redis would take the whole
 * stall. SIGSTOP lasts until the test resumes Redis (a CLI still running after STALL_MS is killed); a CLIENT PAUSE
 * cannot be ended early (CLIENT UNPAUSE waits for it too), so it lasts just longer than the bound it tests: PAUSE_MS
 * for a close in this process (CLOSE_BOUND_MS), CLI_PAUSE_MS for the CLI processes.
 */
const STALL_MS = 30_000;
const BOUND_MS = 10_000;
const CLOSE_BOUND_MS = 4000;
const PAUSE_MS = CLOSE_BOUND_MS + 2000;
const CLI_PAUSE_MS = BOUND_MS + 5000;

describe('Redis store: hardening (a real Redis)', function () {
  this.timeout(3 * PATIENCE_MS);
  let redis: TestRedis;
  const services: MaintenanceService[] = [];
  const make = (extra: object = {}) => {
    const s = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger(), ...extra });
    services.push(s);
    return s;
  };
  const admin = async () => {
    const c = createClient({ url: redis.url });
    c.on('error', () => undefined); // a test that fails midway must not leave an unhandled client error behind
    await c.connect();
    return c;
  };
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    redis = await startRedis();
  });
  afterEach(async () => {
    redis.resume();
    await Promise.all(services.splice(0).map((s) => s.close()));
    const c = await admin();
    await c.flushAll();
    await c.close();
  });
  after(async () => redis?.dispose());

  it('holds nothing, in its keys or its change messages, from which a bypass cookie can be made', async () => {
    const c = await admin();
    const sub = c.duplicate();
    await sub.connect();
    const messages: string[] = [];
    await sub.subscribe('maintenance-mode::changes', (m) => messages.push(m));
    const secret = 'a-window-secret-0123456789abcdef';
    const writer = make();
    await writer.enable({ bypassHash: hashSecret(secret), message: 'migrating' });
    await writer.enable({ scope: 'billing', bypassHash: hashSecret(`${secret}-billing`) });
    await until(() => messages.length >= 2, PATIENCE_MS);
    const dump = [
      await c.get(STATE_KEY),
      JSON.stringify(await c.hGetAll('maintenance-mode::maintenance_mode_scopes')),
      ...(await c.lRange('maintenance-mode::maintenance_mode_history', 0, -1)),
      ...messages,
    ].join('\n');
    await sub.close();
    await c.close();
    expect(dump).to.include(hashSecret(secret)); // the verifier is there; it must not be enough
    const t = createTestApp({ service: make() });
    await expectNoForgery(t.request, dump);
    for (const m of messages) {
      expect(Buffer.byteLength(m)).to.be.below(200);
      expect(m).to.not.match(/[0-9a-f]{64}|migrating/); // no state, no secret material in a change message
    }
    await expectSecretWorks(t.request, secret); // the secret itself still works
  });

  it('lands a write that timed out on the client whole: state, history entry and push together (CLIENT PAUSE WRITE)', async () => {
    const writer = make({ storeTimeoutMs: 200 });
    const reader = make({ cacheTtlMs: 60_000 }); // whatever it sees within the test can only have been pushed
    await reader.getState();
    await pushesReach(writer, [reader]); // subscribed
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', '3000', 'WRITE']); // far longer than the writer's storeTimeoutMs
    const err = await writer.enable({ message: 'late', by: 'ops' }).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN');
    expect(reader.lastKnownState().enabled).to.equal(false);
    await until(() => reader.lastKnownState().message === 'late', PATIENCE_MS); // pushed when it landed
    await until(async () => (await writer.getState()).message === 'late', PATIENCE_MS); // the writer converged too
    const history = await writer.history(5);
    expect(history[0]).to.include({ to: 'on', by: 'ops', message: 'late' });
    await c.close();
  });

  it('ends the CLI soon after storeTimeoutMs while Redis is stalled (SIGSTOP), naming where it read', async function () {
    this.timeout(STALL_MS + PATIENCE_MS);
    await make().enable({ message: 'before the stall' });
    redis.pause(); // until the test resumes it: whatever waited for the server would never end
    try {
      const r = await cliProcess(['status'], { MAINTENANCE_MODE_REDIS_URL: redis.url }, STALL_MS);
      expect(r.code, r.err).to.equal(1);
      expect(r.err).to.match(/^Error: Reading Redis at redis:\/\/127\.0\.0\.1:\d+ failed/);
      expect(r.ms).to.be.below(BOUND_MS); // the default storeTimeoutMs (500 ms) and slack, not the stall
    } finally {
      redis.resume();
    }
  });

  it('closes within its bound while Redis holds a command (CLIENT PAUSE), instead of waiting for its reply', async () => {
    const s = make({ storeTimeoutMs: 300 });
    await s.enable({ message: 'before the pause' });
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL']);
    try {
      const pending = s.getStoredState().catch(() => undefined); // held by the server until the pause ends
      await sleep(50);
      const t0 = performance.now();
      await s.close();
      expect(performance.now() - t0).to.be.below(CLOSE_BOUND_MS); // storeTimeoutMs (300 ms) and slack, not the pause
      await pending;
    } finally {
      await c.sendCommand(['CLIENT', 'UNPAUSE']); // answered when the pause ends
      await c.close();
    }
  });

  it('ends every CLI command soon after storeTimeoutMs while Redis accepts connections but answers nothing (CLIENT PAUSE)', async function () {
    this.timeout(CLI_PAUSE_MS + STALL_MS + PATIENCE_MS);
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', String(CLI_PAUSE_MS), 'ALL']);
    try {
      const commands = [['status'], ['on', '--message', 'stalled']];
      // At once, both within the one pause.
      const runs = await Promise.all(
        commands.map((args) => cliProcess(args, { MAINTENANCE_MODE_REDIS_URL: redis.url })),
      );
      for (const [i, r] of runs.entries()) {
        expect(r.code, r.err).to.equal(1);
        expect(r.err).to.match(/took longer than storeTimeoutMs \(500 ms\)/); // what bounded it, in its own words
        expect(r.ms, commands[i].join(' ')).to.be.below(BOUND_MS); // storeTimeoutMs and slack, not the pause
      }
    } finally {
      await c.sendCommand(['CLIENT', 'UNPAUSE']); // answered when the pause ends
      await c.close();
    }
  });

  it('leaves no connection open when it closes while connecting, and never connects again after close (#30)', async () => {
    const c = await admin();
    const others = async () => (await c.clientList()).length; // this admin connection included
    const ours = await others();
    for (let i = 0; i < 20; i++) {
      const s = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() });
      // A wait opens the presence subscriber; closing at once (or a moment later) races its connect.
      const waiting = s.waitForFleet({ timeoutMs: 2000 }).catch(() => undefined);
      if (i % 2 === 1) await sleep(i);
      await s.close();
      await waiting;
    }
    await until(async () => (await others()) === ours, PATIENCE_MS).catch(() => undefined);
    expect(await others(), 'connections left open by closed stores').to.equal(ours);
    const store = createRedisStore(redis.url);
    await store.disconnect?.();
    const late = await store.get('maintenance_mode_state').then(
      () => undefined,
      (err: Error) => err,
    );
    expect(late?.message).to.match(/is closed \(service\.close\(\) ran\).*create a new store/);
    expect(await others(), 'a call after close connected again').to.equal(ours);
    await c.close();
  });
});
