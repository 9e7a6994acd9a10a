import { createClient } from '@keyv/redis';
import { expect } from 'chai';
import { redactUrl } from '../src/core/redact.js';
import { createRedisStore, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { freePort, startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';

describe('createRedisStore(): what is particular to Redis (test/store-contract.test.ts runs the rest)', () => {
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

  it('survives concurrent first calls on a fresh connection (regression: @keyv/redis connect race)', async () => {
    const keyv = createRedisStore(redis.url);
    try {
      const results = await Promise.allSettled([keyv.get('a'), keyv.get('b'), keyv.get('c'), keyv.get('d')]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    } finally {
      await keyv.disconnect?.();
    }
  });

  it('keeps the state under one documented key as JSON, the history as a list, and scopes as fields of one hash', async () => {
    const s = make();
    await s.enable({ message: 'key check' });
    await s.enable({ scope: 'tenant-a' });
    await s.enable({ scope: 'tenant-b' });
    await s.disable({ scope: 'tenant-a' });
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const raw = await client.get('maintenance-mode::maintenance_mode_state');
      expect(JSON.parse(raw as string).value).to.include({ enabled: true, message: 'key check' });
      expect(await client.type('maintenance-mode::maintenance_mode_history')).to.equal('list');
      expect(await client.type('maintenance-mode::maintenance_mode_scopes')).to.equal('hash');
      expect(await client.hExists('maintenance-mode::maintenance_mode_scopes', 'tenant-a')).to.equal(0);
      expect(await client.hKeys('maintenance-mode::maintenance_mode_scopes')).to.deep.equal(['tenant-b']);
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
