import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Keyv from 'keyv';
import {
  type CliIo,
  createFileStore,
  createPostgresStore,
  createRedisStore,
  fromKeyv,
  MaintenanceError,
  MaintenanceService,
  type MaintenanceServiceOptions,
  type MaintenanceStore,
  main,
  POSTGRES_URL_ENV,
  REDIS_URL_ENV,
  STATE_FILE_ENV,
} from '../src/index.js';
import { selectStore } from '../src/store/select-store.js';
import { captureLogger } from './helpers/app.js';

const services: MaintenanceService[] = [];
const make = (options: MaintenanceServiceOptions) => {
  const s = new MaintenanceService({ logger: captureLogger(), ...options });
  services.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.close()));
});

describe('createFileStore() and fromKeyv(): stores the service uses', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-stores-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('createFileStore({ path }) keeps the state in that file, shared with a service on stateFilePath', async () => {
    const path = join(dir, 'state.json');
    const s = make({ store: createFileStore({ path }) });
    expect(s.storeDescription).to.equal(`the state file ${path}`);
    await s.enable({ message: 'via createFileStore', by: 'ops' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).to.include({ enabled: true, message: 'via createFileStore' });
    const other = make({ stateFilePath: path });
    expect(await other.getStoredState()).to.include({ enabled: true, updatedBy: 'ops' });
    expect((await s.history(1))[0]).to.include({ to: 'on', by: 'ops' });
    expect((await s.fleet()).revision).to.equal(1); // a fleet: the file store keeps presence
  });

  it('createFileStore(path) takes the path alone, resolved against the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const store = createFileStore('relative.json');
      expect(store.description).to.equal(`the state file ${join(dir, 'relative.json')}`);
      await make({ store }).enable();
      expect(JSON.parse(readFileSync(join(dir, 'relative.json'), 'utf8')).enabled).to.equal(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('createFileStore() refuses a missing path, naming what it takes', () => {
    for (const bad of [undefined, '', {}, { path: 42 }]) {
      expect(() => createFileStore(bad as never)).to.throw(
        MaintenanceError,
        /^createFileStore\(options\) takes the state file path/,
      );
    }
  });

  it('fromKeyv(keyv) is what store: keyv means: both see the same state, history, scopes and tokens', async () => {
    const keyv = new Keyv();
    const wrapped = make({ store: fromKeyv(keyv), cacheTtlMs: 0 });
    const plain = make({ store: keyv, cacheTtlMs: 0 });
    expect(wrapped.storeDescription).to.equal('the keyv store');
    await wrapped.enable({ by: 'ops' });
    await wrapped.enable({ scope: 'billing', by: 'ops' });
    expect(await plain.isEnabled()).to.equal(true);
    expect(await plain.isEnabled('billing')).to.equal(true);
    expect((await plain.history(5)).map((e) => e.scope ?? '-')).to.deep.equal(['billing', '-']);
    const { token } = await plain.createToken({ label: 'ci', allow: ['read'] });
    expect(await wrapped.authenticateToken(token)).to.include({ label: 'ci' });
    expect(await keyv.get('maintenance_mode_state')).to.include({ enabled: true, revision: 1 });
  });

  it("fromKeyv() turns on keyv's throwOnErrors, so a failing store never reads as off", () => {
    const keyv = new Keyv();
    keyv.throwOnErrors = false;
    fromKeyv(keyv);
    expect(keyv.throwOnErrors).to.equal(true);
  });

  it('fromKeyv() refuses what is no keyv instance', () => {
    expect(() => fromKeyv({} as never)).to.throw(MaintenanceError, /^fromKeyv\(keyv\) takes a keyv instance/);
  });

  it('takes a store of your own that implements MaintenanceStore (no keyv at all)', async () => {
    const base = fromKeyv(new Keyv());
    const reads: string[] = [];
    const own: MaintenanceStore = {
      ...base,
      description: 'my store',
      readState: () => {
        reads.push('state');
        return base.readState();
      },
    };
    const s = make({ store: own, cacheTtlMs: 0 });
    await s.enable();
    expect(await s.isEnabled()).to.equal(true);
    expect(s.storeDescription).to.equal('my store');
    expect(reads.length).to.be.above(0);
  });
});

describe('createRedisStore() and createPostgresStore(): (url, options) or ({ url, ...options })', () => {
  it('builds the same store from either call form (nothing connects before a call)', async () => {
    const url = 'redis://127.0.0.1:1';
    const stores = [
      createRedisStore(url, { namespace: 'shop' }),
      createRedisStore({ url, namespace: 'shop' }),
      createPostgresStore('postgres://app@127.0.0.1:1/app', { tablePrefix: 'shop' }),
      createPostgresStore({ url: 'postgres://app@127.0.0.1:1/app', tablePrefix: 'shop' }),
    ];
    try {
      expect(stores.map((s) => s.stateLocation)).to.deep.equal([
        `The Redis key shop::maintenance_mode_state (Redis at ${url})`,
        `The Redis key shop::maintenance_mode_state (Redis at ${url})`,
        'The row maintenance_mode_state of the table shop_keyv (PostgreSQL at postgres://app@127.0.0.1:1/app)',
        'The row maintenance_mode_state of the table shop_keyv (PostgreSQL at postgres://app@127.0.0.1:1/app)',
      ]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses the options twice, and an object without a URL, naming what it takes', () => {
    const url = 'redis://127.0.0.1:1';
    expect(() => createRedisStore({ url } as never, { namespace: 'x' })).to.throw(
      MaintenanceError,
      /^createRedisStore\(options\) takes the URL and the options in one object, or \(url, options\); not both/,
    );
    expect(() => createRedisStore({ namespace: 'x' } as never)).to.throw(
      MaintenanceError,
      /^createRedisStore\(url\) takes a redis:\/\//,
    );
    expect(() => createPostgresStore({ tablePrefix: 'x' } as never)).to.throw(
      MaintenanceError,
      /^createPostgresStore\(url\) takes a postgres:\/\//,
    );
  });
});

describe('the store option fails fast, naming store', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    [
      'an empty object',
      {},
      /^store must be a MaintenanceStore \(createFileStore.*\) or a keyv instance \(new Keyv\(\)\); received \{\}/,
    ],
    ['a number', 42, /^store must be a MaintenanceStore .* or a keyv instance .*; received 42/],
    [
      'a URL string',
      'redis://127.0.0.1:6379',
      /^store must be a MaintenanceStore .*; received "redis:\/\/127\.0\.0\.1:6379"/,
    ],
    ['null', null, /^store must be a MaintenanceStore .*; received null/],
    ['a class (not an instance)', Keyv, /^store must be a MaintenanceStore .*; received a function \(Keyv\)/],
  ];
  for (const [what, store, message] of cases) {
    it(`refuses ${what} at construction`, () => {
      expect(() => new MaintenanceService({ store: store as never })).to.throw(MaintenanceError, message);
    });
  }

  it('names the members a store of your own still lacks', () => {
    const { tokens: _, close: __, ...partial } = fromKeyv(new Keyv());
    expect(() => new MaintenanceService({ store: partial as never })).to.throw(
      MaintenanceError,
      /^store is not a complete MaintenanceStore: it lacks tokens, close; received "an object with description, /,
    );
  });
});

/** The store a CLI run with `env` in `cwd` (and `config`) uses, as its `status` says or its error names it. */
async function cliStore(cwd: string, env: Record<string, string>, config?: object): Promise<string> {
  const out: string[] = [];
  const io: CliIo = { stdout: { write: (t) => out.push(t) }, stderr: { write: (t) => out.push(t) }, env, cwd };
  const argv = ['status', '--json'];
  if (config) {
    writeFileSync(join(cwd, 'config.json'), JSON.stringify(config));
    argv.push('--config', 'config.json');
  }
  await main(argv, io);
  const text = out.join('');
  try {
    return JSON.parse(text).store;
  } catch {
    return text; // the store could not be read: its error names it
  }
}

describe('selectStore(): the CLI and the service pick the same store from the same options and environment', () => {
  let dir: string;
  const saved: Record<string, string | undefined> = {};
  const names = [STATE_FILE_ENV, REDIS_URL_ENV, POSTGRES_URL_ENV];
  const cwd = process.cwd();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-select-'));
    for (const n of names) saved[n] = process.env[n];
    process.chdir(dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const redis = 'redis://127.0.0.1:1';
  const postgres = 'postgres://app@127.0.0.1:1/app';
  const cases: Array<[string, Record<string, string>, object | undefined, string]> = [
    [
      'nothing set: the file in the working directory',
      {},
      undefined,
      'the state file <dir>/maintenance_mode_state.json',
    ],
    [
      'the state file variable, relative',
      { [STATE_FILE_ENV]: 'custom.json' },
      undefined,
      'the state file <dir>/custom.json',
    ],
    [
      'the Redis variable, over the state file one',
      { [REDIS_URL_ENV]: redis, [STATE_FILE_ENV]: 'x.json' },
      undefined,
      `Redis at ${redis}`,
    ],
    ['the PostgreSQL variable', { [POSTGRES_URL_ENV]: postgres }, undefined, `PostgreSQL at ${postgres}`],
    [
      'both URL variables: Redis first',
      { [REDIS_URL_ENV]: redis, [POSTGRES_URL_ENV]: postgres },
      undefined,
      `Redis at ${redis}`,
    ],
    [
      'an option over every variable',
      { [REDIS_URL_ENV]: redis },
      { stateFilePath: 'opt.json' },
      'the state file <dir>/opt.json',
    ],
  ];
  for (const [what, env, config, expected] of cases) {
    it(what, async function () {
      this.timeout(10_000);
      const want = expected.replace('<dir>', dir);
      for (const n of names) delete process.env[n];
      Object.assign(process.env, env);
      const service = make({ ...config, storeTimeoutMs: 300 });
      expect(service.storeDescription).to.equal(want);
      expect(selectStore(config ?? {}, env, dir)).to.deep.include(
        (({ store, redisUrl, postgresUrl, stateFilePath }) => ({ store, redisUrl, postgresUrl, stateFilePath }))(
          service.config,
        ),
      );
      expect(await cliStore(dir, env, config)).to.include(want);
    });
  }
});
