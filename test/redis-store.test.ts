import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import { redactUrl } from '../src/core/redact.js';
import { createRedisStore, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

describe('createRedisStore(): state shared through a real Redis', () => {
  let redis: TestRedis;
  const services: MaintenanceService[] = [];
  let logger = captureLogger();
  const make = (extra: object = {}) => {
    const s = new MaintenanceService({ store: createRedisStore(redis.url), logger, ...extra });
    services.push(s);
    return s;
  };
  beforeEach(() => {
    logger = captureLogger();
  });
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(20_000);
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });
  after(async () => redis?.dispose());

  it("lets two instances see each other's changes", async () => {
    const a = make();
    const b = make();
    await a.enable({ message: 'from a', by: 'a' });
    expect(await b.getState(), logger.warnings.join('\n')).to.include({
      enabled: true,
      message: 'from a',
      updatedBy: 'a',
    });
    await b.disable();
    expect(await a.isEnabled()).to.equal(false);
  });

  it('survives concurrent first calls on a fresh connection (regression: @keyv/redis connect race)', async () => {
    const keyv = createRedisStore(redis.url);
    try {
      const results = await Promise.allSettled([keyv.get('a'), keyv.get('b'), keyv.get('c'), keyv.get('d')]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    } finally {
      await keyv.disconnect?.();
    }
  });

  it('keeps the state under one documented key, as JSON', async () => {
    await make().enable({ message: 'key check' });
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const raw = await client.get('maintenance-mode::maintenance_mode_state');
      expect(JSON.parse(raw as string).value).to.include({ enabled: true, message: 'key check' });
    } finally {
      await client.close();
    }
  });

  it('is what redisUrl and MAINTENANCE_MODE_REDIS_URL select', async () => {
    const viaOption = make({ store: undefined, redisUrl: redis.url });
    await viaOption.enable({ by: 'option' });
    const saved = process.env.MAINTENANCE_MODE_REDIS_URL;
    process.env.MAINTENANCE_MODE_REDIS_URL = redis.url;
    try {
      const viaEnv = new MaintenanceService({ logger: captureLogger() });
      services.push(viaEnv);
      expect(viaEnv.config.stateFilePath).to.equal(undefined);
      expect(viaEnv.storeDescription).to.equal(`Redis at ${redis.url}`);
      expect(await viaEnv.getState()).to.include({ enabled: true, updatedBy: 'option' });
    } finally {
      if (saved === undefined) delete process.env.MAINTENANCE_MODE_REDIS_URL;
      else process.env.MAINTENANCE_MODE_REDIS_URL = saved;
    }
  });

  it('fails fast when Redis is unreachable: fallback on read, MaintenanceError naming the URL on write', async () => {
    const port = await freePort();
    const logger = captureLogger();
    const s = new MaintenanceService({
      store: createRedisStore(`redis://user:hunter2@127.0.0.1:${port}`),
      fallbackValue: true,
      logger,
    });
    services.push(s);
    const t0 = Date.now();
    expect(await s.isEnabled()).to.equal(true);
    expect(Date.now() - t0).to.be.below(5000); // storeTimeoutMs (500 ms) and slack for a loaded machine: never a hang
    const err = await s.enable().catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError);
    expect(err.message).to.include(`Redis at redis://user:***@127.0.0.1:${port}`).and.not.include('hunter2');
    expect(logger.warnings.join('\n')).to.not.include('hunter2');
  });

  it('keeps the last known state for cacheTtlMs into an outage, then fallbackValue; recovers; loses nothing', async function () {
    this.timeout(3 * PATIENCE_MS);
    const ttl = 300;
    const s = make({ cacheTtlMs: ttl, storeTimeoutMs: 200 });
    await s.enable({ message: 'before the outage' });
    expect(await s.isEnabled()).to.equal(true);
    await redis.stop();
    const reads = async (want: boolean) => {
      await until(async () => (await s.isEnabled()) === want, PATIENCE_MS);
      return true;
    };
    expect(await s.isEnabled()).to.equal(true); // last known state, within cacheTtlMs
    expect(await reads(false)).to.equal(true); // then fallbackValue (false)
    await redis.restart();
    expect(await reads(true)).to.equal(true); // recovered by itself: the acknowledged toggle survived
    expect(await s.getStoredState()).to.include({ enabled: true, message: 'before the outage' });
    await s.disable();
    expect(await make().getState()).to.include({ enabled: false });
  });

  it('keeps the history as a Redis list: instances changing the state at once lose no entry', async function () {
    this.timeout(10_000);
    const a = make();
    const b = make();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [a.enable({ by: `a${i}` }), b.disable({ by: `b${i}` })]).flat(),
    );
    const history = await make().history(100);
    const bys = history.map((e) => e.by);
    for (let i = 0; i < 20; i++) expect(bys).to.include.members([`a${i}`, `b${i}`]);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      expect(await client.type('maintenance-mode::maintenance_mode_history')).to.equal('list');
    } finally {
      await client.close();
    }
  });

  it('keeps scopes as fields of one Redis hash: instances switching different scopes at once lose none', async function () {
    this.timeout(10_000);
    const a = make();
    const b = make();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        a.enable({ scope: `tenant-a${i}` }),
        b.enable({ scope: `tenant-b${i}`, message: `b${i}` }),
      ]).flat(),
    );
    await a.disable({ scope: 'tenant-a0' });
    const scopes = await make().scopes();
    expect(scopes).to.have.length(39);
    expect(scopes.find((x) => x.scope === 'tenant-b7')?.state.message).to.equal('b7');
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      expect(await client.type('maintenance-mode::maintenance_mode_scopes')).to.equal('hash');
      expect(await client.hExists('maintenance-mode::maintenance_mode_scopes', 'tenant-a0')).to.equal(0);
      expect(await client.hLen('maintenance-mode::maintenance_mode_scopes')).to.equal(39);
    } finally {
      await client.close();
    }
  });

  it('rejects a URL that is not redis:// at once', () => {
    expect(() => createRedisStore('http://127.0.0.1:6379')).to.throw(
      MaintenanceError,
      /takes a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(() => new MaintenanceService({ redisUrl: 'localhost:6379' })).to.throw(
      MaintenanceError,
      /^redisUrl must be/,
    );
  });

  it('hides every credential form in descriptions: the user part and credential query parameters', () => {
    expect(redactUrl('redis://:s3cret@cache:6379/0')).to.equal('redis://:***@cache:6379/0');
    expect(redactUrl('rediss://u:p@cache:6380')).to.equal('rediss://u:***@cache:6380');
    expect(redactUrl('postgres://db/app?password=s3cret&sslpassword=k3y&sslkey=/k&sslmode=require')).to.equal(
      'postgres://db/app?password=***&sslpassword=***&sslkey=***&sslmode=require',
    );
    expect(redactUrl('redis://cache:6379?token=t0k&auth=a&user=me')).to.equal(
      'redis://cache:6379?token=***&auth=***&user=me',
    );
    expect(redactUrl('s3cret-not-a-url')).to.equal('<unparsable URL>');
    expect(() => new MaintenanceService({ redisUrl: 'http://u:s3cret@h?password=s3cret' })).to.throw(
      MaintenanceError,
      /^redisUrl must be a redis:\/\/ or rediss:\/\/ URL; received "http:\/\/u:\*\*\*@h\/\?password=\*\*\*"/,
    );
  });
});
