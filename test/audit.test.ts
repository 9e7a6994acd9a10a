import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { appendHistory, type HistoryEntry, summarize } from '../src/core/history.js';
import { MaintenanceService, type MaintenanceState, maintenanceRoutes, withMaintenanceOn } from '../src/index.js';
import { captureLogger, inSeconds, unreadableKeyv } from './helpers/app.js';

const entry = (i: number): HistoryEntry => ({ at: new Date(i).toISOString(), source: 'test', from: 'off', to: 'on' });

describe('audit history', () => {
  it('records every change with who, when, source, from, to and message, newest first', async () => {
    const keyv = new Keyv();
    const service = new MaintenanceService({ store: keyv, logger: captureLogger() });
    const before = Date.now();
    await service.enable({ message: 'DB upgrade', by: 'alice' });
    await service.disable({ by: 'bob', source: 'deploy-script' });
    await withMaintenanceOn(async () => undefined, { service, by: 'nightly' });
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.state.user = { username: 'carol', isSuperuser: true };
      await next();
    });
    app.use(maintenanceRoutes({ service }).routes());
    await supertest(app.callback()).post('/maintenance-mode/on').expect(302);
    const history = await new MaintenanceService({ store: keyv }).history(); // another instance sees it too
    expect(history.map(({ by, source, from, to, message }) => ({ by, source, from, to, message }))).to.deep.equal([
      { by: 'carol', source: 'routes', from: 'off', to: 'on', message: undefined },
      { by: 'nightly', source: 'job', from: 'on', to: 'off', message: undefined },
      { by: 'nightly', source: 'job', from: 'off', to: 'on', message: undefined },
      { by: 'bob', source: 'deploy-script', from: 'on', to: 'off', message: undefined },
      { by: 'alice', source: 'service', from: 'off', to: 'on', message: 'DB upgrade' },
    ]);
    expect(Date.parse(history[4].at)).to.be.within(before, Date.now());
    expect(await service.history(2)).to.have.length(2);
  });

  it('summarizes scheduled and read-only states', async () => {
    const now = new Date();
    expect(summarize({ enabled: true, start: inSeconds(60) }, now)).to.equal('scheduled');
    expect(summarize({ enabled: true, readOnly: true }, now)).to.equal('read-only');
    expect(summarize({ enabled: true, end: inSeconds(-60), start: inSeconds(-120) }, now)).to.equal('off');
  });

  it('stays bounded, dropping the oldest entries', () => {
    let list: HistoryEntry[] = [];
    for (let i = 0; i < 250; i++) list = appendHistory(list, entry(i));
    expect(list).to.have.length(200);
    expect(list[0].at).to.equal(new Date(50).toISOString());
  });

  it('keeps the change when the history cannot be written, and says so', async () => {
    const data = new Map<string, unknown>();
    const keyv = new Keyv({
      store: {
        get: async (k: string) => data.get(k),
        set: async (k: string, v: unknown) => {
          if (k.includes('history')) throw new Error('quota exceeded');
          data.set(k, v);
          return true;
        },
        delete: async () => true,
        clear: async () => undefined,
      } as never,
    });
    const logger = captureLogger();
    const service = new MaintenanceService({ store: keyv, logger, cacheTtlMs: 0 });
    await service.enable({ by: 'ops' });
    expect(await service.isEnabled()).to.equal(true);
    expect(logger.warnings[0]).to.match(/saved but not added to the history: .*quota exceeded/);
  });
});

describe('service events', () => {
  it("emits 'enabled', 'scheduled' and 'disabled' for its own changes", async () => {
    const service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    const events: string[] = [];
    for (const name of ['enabled', 'disabled', 'scheduled'] as const) {
      service.on(name, (state: MaintenanceState) => events.push(`${name}:${state.updatedBy}`));
    }
    await service.enable({ by: 'a' });
    await service.enable({ by: 'b', message: 'same meaning, no event' });
    await service.disable({ by: 'c' });
    await service.enable({ start: inSeconds(60), by: 'd' });
    await service.disable({ by: 'e' });
    expect(events).to.deep.equal(['enabled:a', 'disabled:c', 'scheduled:d', 'disabled:e']);
  });

  it('emits for changes made by another instance once it sees them', async () => {
    const keyv = new Keyv();
    const watcher = new MaintenanceService({ store: keyv, cacheTtlMs: 0 });
    const events: string[] = [];
    watcher.on('enabled', () => events.push('enabled'));
    await watcher.getState();
    await new MaintenanceService({ store: keyv }).enable();
    await watcher.getState();
    expect(events).to.deep.equal(['enabled']);
  });

  it("emits 'storeError' for failed reads", async () => {
    const service = new MaintenanceService({ store: unreadableKeyv(), cacheTtlMs: 0, logger: captureLogger() });
    const errors: string[] = [];
    service.on('storeError', (err) => errors.push(err.code));
    await service.getState();
    expect(errors).to.deep.equal(['ERR_MAINTENANCE_STORE_READ']);
  });
});
