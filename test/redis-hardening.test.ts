import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import { createRedisStore, hashSecret, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger, createTestApp } from './helpers/app.js';
import { cliProcess, cliRunner } from './helpers/cli.js';
import { expectNoForgery, expectSecretWorks } from './helpers/forge.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { sleep, until } from './helpers/wait.js';

const STATE_KEY = 'maintenance-mode::maintenance_mode_state';

describe('Redis store: hardening (a real Redis)', function () {
  this.timeout(30_000);
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
    await until(() => messages.length >= 2, 2000);
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
    await sleep(200); // subscribed
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', '1200', 'WRITE']);
    const err = await writer.enable({ message: 'late', by: 'ops' }).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN');
    expect(reader.lastKnownState().enabled).to.equal(false);
    await until(() => reader.lastKnownState().message === 'late', 3000); // pushed when it landed
    await until(async () => (await writer.getState()).message === 'late', 3000); // the writer converged too
    const history = await writer.history(5);
    expect(history[0]).to.include({ to: 'on', by: 'ops', message: 'late' });
    await c.close();
  });

  it('closes within its bound while Redis is stalled (SIGSTOP), and the CLI exits soon after storeTimeoutMs', async () => {
    const s = make({ storeTimeoutMs: 300 });
    await s.enable({ message: 'before the stall' });
    await s.getState(); // connected and subscribed
    redis.pause();
    const pending = s.getStoredState().catch(() => undefined); // a read in flight that a stalled server never answers
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).to.be.below(300 + 500);
    await pending;
    const r = await cliProcess(['status'], { MAINTENANCE_MODE_REDIS_URL: redis.url });
    redis.resume();
    expect(r.code, r.err).to.equal(1);
    expect(r.err).to.match(/^Error: Reading Redis at redis:\/\/127\.0\.0\.1:\d+ failed/);
    expect(r.ms).to.be.below(500 + 1500); // the default storeTimeoutMs plus a small constant, not 20 s
  });

  it('closes within its bound while Redis holds a command (CLIENT PAUSE), instead of waiting for its reply', async () => {
    const s = make({ storeTimeoutMs: 300 });
    await s.enable({ message: 'before the pause' });
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
    try {
      const pending = s.getStoredState().catch(() => undefined); // held by the server until the pause ends
      await sleep(50);
      const t0 = performance.now();
      await s.close();
      expect(performance.now() - t0).to.be.below(300 + 500);
      await pending;
    } finally {
      await c.sendCommand(['CLIENT', 'UNPAUSE']);
      await c.close();
    }
  });

  it('ends every CLI command soon after storeTimeoutMs while Redis accepts connections but answers nothing (CLIENT PAUSE)', async () => {
    const c = await admin();
    await c.sendCommand(['CLIENT', 'PAUSE', '4000', 'ALL']);
    try {
      for (const args of [['status'], ['on', '--message', 'stalled']]) {
        const r = await cliProcess(args, { MAINTENANCE_MODE_REDIS_URL: redis.url });
        expect(r.code, r.err).to.equal(1);
        expect(r.err).to.match(/took longer than storeTimeoutMs \(500 ms\)/);
        expect(r.ms, args.join(' ')).to.be.below(500 + 1500);
      }
    } finally {
      await c.sendCommand(['CLIENT', 'UNPAUSE']);
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
    await until(async () => (await others()) === ours, 5000).catch(() => undefined);
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

  it('overwrites a corrupt state with a switch, says where it lies, and records that it was unreadable', async () => {
    const c = await admin();
    await c.set(STATE_KEY, '{"value":{"enabled":"maybe"}}');
    const cli = cliRunner(process.cwd(), { USER: 'ops', MAINTENANCE_MODE_REDIS_URL: redis.url });
    const status = await cli(['status']);
    expect(status.code).to.equal(1);
    expect(status.err).to.include(`The Redis key ${STATE_KEY} (Redis at ${redis.url})`);
    expect(status.err).to.not.include('state file');
    const off = await cli(['off']);
    expect(off.code, off.err).to.equal(0);
    expect(off.out).to.match(/unreadable/);
    expect(JSON.parse((await c.get(STATE_KEY)) as string).value).to.include({ enabled: false });
    expect((await make().history(1))[0]).to.include({ from: 'unreadable', to: 'off', source: 'cli' });
    await c.close();
  });
});
