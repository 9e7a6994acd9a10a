import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Keyv from 'keyv';
import { Container } from 'typedi';
import {
  getMaintenanceMode,
  MaintenanceError,
  MaintenanceService,
  MESSAGE_MAX_LENGTH,
  setMaintenanceMode,
} from '../src/index.js';
import { captureLogger, inSeconds, memoryService } from './helpers/app.js';

/** A keyv whose storage adapter fails (or hangs) on demand, with keyv's own defaults (errors swallowed). */
function flakyKeyv() {
  const data = new Map<string, unknown>();
  const mode = { fail: false, hang: false };
  const adapter = {
    async get(key: string) {
      if (mode.hang) return new Promise(() => undefined);
      if (mode.fail) throw new Error('ECONNREFUSED 127.0.0.1:6390');
      return data.get(key);
    },
    async set(key: string, value: unknown) {
      if (mode.hang) return new Promise(() => undefined);
      if (mode.fail) throw new Error('ECONNREFUSED 127.0.0.1:6390');
      data.set(key, value);
      return true;
    },
    async delete(key: string) {
      return data.delete(key);
    },
    async clear() {
      data.clear();
    },
  };
  return { keyv: new Keyv({ store: adapter as never }), mode };
}

describe('MaintenanceService: state through keyv', () => {
  it('is an EventEmitter whose listeners get the service as `this`', async () => {
    const service = new MaintenanceService({ store: new Keyv(), logger: { warn() {}, info() {} } });
    let self: unknown;
    service.once('enabled', function (this: unknown) {
      self = this;
    });
    expect(service).to.be.instanceOf(EventEmitter);
    expect(service.on('disabled', () => undefined)).to.equal(service);
    await service.enable();
    expect(self).to.equal(service);
    await service.close();
  });

  it('is off until enabled, on after enable(), off after disable()', async () => {
    const s = memoryService();
    expect(await s.isEnabled()).to.equal(false);
    await s.enable();
    expect(await s.isEnabled()).to.equal(true);
    await s.disable();
    expect(await s.isEnabled()).to.equal(false);
  });

  it('records message, window, updatedAt and updatedBy', async () => {
    const s = memoryService();
    const end = inSeconds(600);
    const before = Date.now();
    await s.enable({ message: 'Upgrading the database', end, by: 'alice' });
    const state = await s.getState();
    expect(state).to.include({
      enabled: true,
      message: 'Upgrading the database',
      end: new Date(end).toISOString(),
      updatedBy: 'alice',
    });
    expect(Date.parse(state.updatedAt as string)).to.be.within(before, Date.now());
    await s.disable({ by: 'bob' });
    expect(await s.getState())
      .to.include({ enabled: false, updatedBy: 'bob' })
      .and.not.have.property('message');
  });

  it('bounds the message: one over MESSAGE_MAX_LENGTH is a MaintenanceError naming the limit, nothing is written', async () => {
    const s = memoryService();
    await s.enable({ message: 'x'.repeat(MESSAGE_MAX_LENGTH) });
    const err = await s.enable({ message: 'y'.repeat(1_000_000) }).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_INVALID_SCHEDULE');
    expect(err.message).to.include(`the limit is ${MESSAGE_MAX_LENGTH}`).and.include('1000000 characters');
    expect((await s.getState()).message).to.equal('x'.repeat(MESSAGE_MAX_LENGTH));
    expect(await s.history()).to.have.length(1);
  });

  it('honours the schedule: enabled for a future window is not active yet', async () => {
    const s = memoryService();
    await s.enable({ start: inSeconds(60), end: inSeconds(120) });
    expect((await s.getState()).enabled).to.equal(true);
    expect(await s.isEnabled()).to.equal(false);
  });

  it('rejects invalid schedules with MaintenanceError and leaves the state unchanged', async () => {
    const s = memoryService();
    await s.enable({ message: 'first' });
    for (const bad of [{ start: 'soon' }, { start: inSeconds(20), end: inSeconds(10) }, { end: inSeconds(-10) }]) {
      const err = await s.enable(bad).catch((e) => e);
      expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_INVALID_SCHEDULE');
    }
    const err = await s.disable({ end: inSeconds(10) } as never).catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError);
    expect(await s.getState()).to.include({ enabled: true, message: 'first' });
  });

  it('shares the state between two services on the same keyv store (two app instances)', async () => {
    const keyv = new Keyv();
    // A plain keyv has no change feed: without cacheTtlMs 0 each service would keep its cached state for 1 s.
    const a = new MaintenanceService({ store: keyv, cacheTtlMs: 0 });
    const b = new MaintenanceService({ store: keyv, cacheTtlMs: 0 });
    await a.enable({ by: 'a' });
    expect(await b.isEnabled()).to.equal(true);
    await b.disable();
    expect(await a.isEnabled()).to.equal(false);
  });

  it('reads django-style values written into a keyv store by other tools', async () => {
    const keyv = new Keyv();
    const s = new MaintenanceService({ store: keyv, cacheTtlMs: 0 });
    await keyv.set('maintenance_mode_state', 1);
    expect(await s.isEnabled()).to.equal(true);
    await keyv.set('maintenance_mode_state', '0');
    expect(await s.isEnabled()).to.equal(false);
  });

  it('knows the last state synchronously for logging filters', async () => {
    const s = memoryService();
    expect(s.lastKnownState().enabled).to.equal(false);
    await s.enable();
    expect(s.lastKnownState().enabled).to.equal(true);
  });
});

describe('MaintenanceService: mode forces the state', () => {
  it('mode: true reports maintenance on without reading the store', async () => {
    const { keyv, mode } = flakyKeyv();
    mode.fail = true;
    const s = new MaintenanceService({ store: keyv, mode: true, logger: captureLogger() });
    expect(await s.isEnabled()).to.equal(true);
  });

  it('mode: false reports off even when the store says on', async () => {
    const keyv = new Keyv();
    await new MaintenanceService({ store: keyv }).enable();
    expect(await new MaintenanceService({ store: keyv, mode: false }).isEnabled()).to.equal(false);
  });

  it('enable() and disable() throw MaintenanceError naming mode', async () => {
    const s = memoryService({ mode: true });
    for (const call of [() => s.enable(), () => s.disable()]) {
      const err = await call().catch((e) => e);
      expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_MODE_FORCED');
      expect(err.message).to.match(/forced by the mode option \(mode: true\); remove mode/);
    }
  });
});

describe('MaintenanceService: store failures follow fallbackValue', () => {
  it('uses fallbackValue when the store throws, even though keyv swallows errors by default', async () => {
    const { keyv, mode } = flakyKeyv();
    expect(keyv.throwOnErrors).to.equal(false);
    const s = new MaintenanceService({ store: keyv, fallbackValue: true, logger: captureLogger() });
    mode.fail = true;
    expect(await s.isEnabled()).to.equal(true);
    expect(keyv.throwOnErrors).to.equal(true);
  });

  it('uses fallbackValue false by default', async () => {
    const { keyv, mode } = flakyKeyv();
    const s = new MaintenanceService({ store: keyv, cacheTtlMs: 0, logger: captureLogger() });
    await s.enable();
    mode.fail = true;
    expect(await s.isEnabled()).to.equal(false);
  });

  it('bounds a hanging store by storeTimeoutMs and returns the fallback', async () => {
    const { keyv, mode } = flakyKeyv();
    const s = new MaintenanceService({ store: keyv, fallbackValue: true, storeTimeoutMs: 50, logger: captureLogger() });
    mode.hang = true;
    const t0 = Date.now();
    expect(await s.isEnabled()).to.equal(true);
    // The store never answers: ending at all is the bound; a limit a loaded machine meets keeps it from hanging.
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('warns once per outage, not per request, and says when the store is back', async () => {
    const { keyv, mode } = flakyKeyv();
    const logger = captureLogger();
    const s = new MaintenanceService({ store: keyv, cacheTtlMs: 0, logger });
    mode.fail = true;
    for (let i = 0; i < 5; i++) await s.getState();
    expect(logger.warnings).to.have.length(1);
    expect(logger.warnings[0]).to.match(/cannot read the maintenance state .*ECONNREFUSED.*using fallbackValue=false/);
    mode.fail = false;
    await s.getState();
    expect(logger.infos).to.deep.equal(['koa-maintenance-mode: the keyv store is readable again.']);
    mode.fail = true;
    await s.getState();
    expect(logger.warnings).to.have.length(2);
  });

  it('treats a corrupt stored value as a failure (fallback + warning), never as a crash', async () => {
    const keyv = new Keyv();
    const logger = captureLogger();
    const s = new MaintenanceService({ store: keyv, fallbackValue: true, logger });
    await keyv.set('maintenance_mode_state', { enabled: 'maybe' });
    expect(await s.isEnabled()).to.equal(true);
    expect(logger.warnings[0]).to.match(/"enabled" must be true or false/);
  });

  it('throws from enable() when the write fails, and keeps the last known state', async () => {
    const { keyv, mode } = flakyKeyv();
    const s = new MaintenanceService({ store: keyv, logger: captureLogger() });
    mode.fail = true;
    const err = await s.enable().catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE');
    expect(err.message).to.match(/ECONNREFUSED/);
    expect(s.lastKnownState().enabled).to.equal(false);
  });

  it('throws ERR_MAINTENANCE_STORE_WRITE_UNKNOWN from a write that hangs: its outcome is unknown, not "failed"', async () => {
    const { keyv, mode } = flakyKeyv();
    const s = new MaintenanceService({ store: keyv, storeTimeoutMs: 30, logger: captureLogger() });
    mode.hang = true;
    const err = await s.enable().catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN');
    expect(err.message).to.match(/outcome is unknown: it may still land/);
  });
});

describe('MaintenanceService: options', () => {
  const bad: Array<[string, object, RegExp]> = [
    [
      'a store that is neither a MaintenanceStore nor keyv',
      { store: {} },
      /^store must be a MaintenanceStore .* or a keyv instance/,
    ],
    [
      'store together with stateFilePath',
      { store: new Keyv(), stateFilePath: '/tmp/x.json' },
      /^stateFilePath cannot be combined with store: they name different stores/,
    ],
    ['an empty stateFilePath', { stateFilePath: '' }, /^stateFilePath must be a file path/],
    ['a string mode', { mode: 'on' }, /^mode must be true, false or undefined/],
    ['a numeric fallbackValue', { fallbackValue: 1 }, /^fallbackValue must be true or false/],
    [
      'storeTimeoutMs 0',
      { storeTimeoutMs: 0 },
      /^storeTimeoutMs must be a whole number of milliseconds between 1 and 60000/,
    ],
    ['a fractional storeTimeoutMs', { storeTimeoutMs: 2.5 }, /^storeTimeoutMs must be/],
    ['a logger without warn()', { logger: {} }, /^logger must have a warn\(message\) method/],
    [
      'a misspelt option',
      { fallback: true },
      /^Unknown MaintenanceService option `fallback`\. Did you mean `fallbackValue`\?/,
    ],
  ];
  for (const [label, options, message] of bad) {
    it(`rejects ${label}`, () => {
      expect(() => new MaintenanceService(options as never))
        .to.throw(MaintenanceError, message)
        .with.property('code', 'ERR_MAINTENANCE_INVALID_OPTION');
    });
  }
});

describe('MaintenanceService: TypeDI container and helpers', () => {
  let dir: string;
  const cwd = process.cwd();
  const env = process.env.MAINTENANCE_MODE_STATE_FILE_PATH;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-container-'));
    process.chdir(dir);
    delete process.env.MAINTENANCE_MODE_STATE_FILE_PATH;
    Container.reset();
  });
  afterEach(() => {
    process.chdir(cwd);
    if (env === undefined) delete process.env.MAINTENANCE_MODE_STATE_FILE_PATH;
    else process.env.MAINTENANCE_MODE_STATE_FILE_PATH = env;
    Container.reset();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Container.get(MaintenanceService) works with no setup, on ./maintenance_mode_state.json', async () => {
    const s = Container.get(MaintenanceService);
    expect(s.config.stateFilePath).to.equal(join(dir, 'maintenance_mode_state.json'));
    await setMaintenanceMode(true);
    expect(await getMaintenanceMode()).to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, 'maintenance_mode_state.json'), 'utf8'))).to.include({ enabled: true });
    await setMaintenanceMode(false);
    expect(await getMaintenanceMode()).to.equal(false);
  });

  it('takes the file from MAINTENANCE_MODE_STATE_FILE_PATH', () => {
    process.env.MAINTENANCE_MODE_STATE_FILE_PATH = join(dir, 'custom.json');
    expect(Container.get(MaintenanceService).config.stateFilePath).to.equal(join(dir, 'custom.json'));
  });

  it('honours a configured service set in the container', async () => {
    const keyv = new Keyv();
    Container.set(MaintenanceService, new MaintenanceService({ store: keyv }));
    await setMaintenanceMode(true);
    expect(await keyv.get('maintenance_mode_state')).to.include({ enabled: true });
  });

  it('setMaintenanceMode() throws TypeError for a non-boolean', async () => {
    for (const v of ['true', 1, null, undefined]) {
      const err = await setMaintenanceMode(v as never).catch((e) => e);
      expect(err).to.be.instanceOf(TypeError);
      expect(err.message).to.match(/takes true or false/);
    }
  });
});
