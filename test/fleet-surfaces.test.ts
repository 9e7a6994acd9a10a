import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import {
  createFileStore,
  type Fleet,
  type MaintenanceError,
  MaintenanceService,
  maintenance,
  maintenanceRoutes,
  type PresenceStore,
} from '../src/index.js';
import { createFilePresence } from '../src/store/file/file-presence.js';
import { captureLogger, userFromHeader } from './helpers/app.js';
import { sleep, until } from './helpers/wait.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });

describe('the fleet: revisions and where people see it', () => {
  let dir: string;
  let file: string;
  const services: MaintenanceService[] = [];
  const service = () => {
    const s = new MaintenanceService({ stateFilePath: file, logger: captureLogger() });
    services.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-fleet-surf-'));
    file = join(dir, 'state.json');
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('bumps the revision with every write, of every scope, and reads django files as revision 0', async () => {
    writeFileSync(file, '1\n');
    const s = service();
    expect((await s.getStoredState()).revision ?? 0).to.equal(0);
    await s.enable({ message: 'a' });
    expect((await s.getStoredState()).revision).to.equal(1);
    await s.enable({ scope: 'billing' });
    expect((await s.getStoredState('billing')).revision).to.equal(2);
    await s.disable({ scope: 'billing' });
    await s.disable();
    expect((await s.getStoredState()).revision).to.equal(4);
    expect(JSON.parse(readFileSync(file, 'utf8')).revision).to.equal(4);
    const revisions = (await s.history(10)).map((e) => e.revision);
    expect(revisions).to.deep.equal([4, 3, 2, 1]);
  });

  it('shows the fleet on /status and the status page, and emits fleet-settled when a wait settles', async () => {
    const s = service();
    const app = new Koa();
    app.use(userFromHeader);
    app.use(maintenance({ service: s, presence: { intervalMs: 1000 } }));
    app.use(maintenanceRoutes({ service: s }).routes());
    app.use((ctx) => {
      ctx.body = 'shop';
    });
    const request = () => supertest(app.callback());
    await request().get('/').expect(200); // the first request: this instance joins
    await until(async () => (await s.fleet()).instances.length === 1, 5000);
    const settled: Fleet[] = [];
    s.on('fleet-settled', (fleet) => settled.push(fleet));
    await s.enable();
    const fleet = await s.waitForFleet({ timeoutMs: 5000 });
    expect(settled).to.deep.equal([fleet]);
    const status = await request().get('/maintenance-mode/status').set('x-user', ALICE).expect(200);
    expect(status.body.fleet).to.deep.equal({ revision: 1, instances: 1, stale: 0, behind: 0, inFlight: 0, held: 0 });
    const page = await request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text).to.include('<h2 id="fleet-heading">Fleet</h2>');
    expect(page.text).to.match(/1 live instance at revision 1, all applied it\./);
    expect(page.text).to.include(`pid ${process.pid}`);
  });

  it('lands its reports in order: a newer one never lands before a slow older one', async () => {
    const store = createFileStore({ path: file });
    const s = new MaintenanceService({ store, logger: captureLogger() });
    services.push(s);
    const presence = store.presence as PresenceStore;
    const report = presence.report.bind(presence);
    let calls = 0;
    let landed = 0;
    // The first report (applied 0) is slow, as on a pool connection that waits; the next ones are quick.
    presence.report = async (record, keep) => {
      if (calls++ === 0) await sleep(200);
      const done = await report(record, keep);
      landed++;
      return done;
    };
    s.joinFleet({ intervalMs: 60_000 });
    await service().enable();
    await until(() => s.appliedRevision === 1, 5000);
    await until(() => landed >= 2 && landed === calls, 5000); // the slow report and the newer one have landed
    const [me] = (await s.fleet()).instances;
    expect(me?.applied).to.equal(1);
    expect((await s.waitForFleet({ timeoutMs: 5000 })).revision).to.equal(1);
  });

  it('names at most ten of those behind in a timeout message, and all of them in its .fleet', async () => {
    const s = service();
    await s.enable();
    const presence = createFilePresence(file);
    const now = new Date().toISOString();
    for (let i = 0; i < 12; i++) {
      const id = `host-${i}`;
      const r = { id, host: id, pid: 1000 + i, version: '0', startedAt: now, lastSeen: now, applied: 0 };
      await presence.report({ ...r, inFlight: 0, held: 0, intervalMs: 60_000 }, 600_000);
    }
    const err = await s.waitForFleet({ timeoutMs: 300 }).catch((e) => e);
    expect(err).to.have.property('code', 'ERR_MAINTENANCE_FLEET_TIMEOUT');
    expect(err.message).to.match(/12 of 12 live instance\(s\) behind: /);
    expect(err.message.match(/host-\d+ pid/g)).to.have.length(10);
    expect(err.message).to.include('and 2 more (see .fleet)');
    expect(err.fleet.instances).to.have.length(12);
  });

  it('lets a dead instance leave the list once it missed 20 reports, whatever its store still holds', async () => {
    const s = service();
    await s.enable();
    const presence = createFilePresence(file);
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    const report = (id: string, lastSeen: string) =>
      presence.report(
        {
          id,
          host: id,
          pid: 1,
          version: '0',
          startedAt: lastSeen,
          lastSeen,
          applied: 0,
          inFlight: 0,
          held: 0,
          intervalMs: 5000,
        },
        3_600_000, // this writer keeps files an hour: the listing must not rely on the store's cleanup
      );
    await report('stopped-13-minutes-ago', at(13));
    await report('stopped-30-seconds-ago', at(0.5));
    const listed = (await s.fleet()).instances.map((i) => [i.id, i.stale]);
    expect(listed).to.deep.equal([['stopped-30-seconds-ago', true]]);
    await s.waitForFleet({ timeoutMs: 5000 }); // neither is waited for
  });

  it('renews a lease only on the state it read: a person switching off meanwhile is never overwritten', async () => {
    const person = service();
    const store = createFileStore(file);
    let interrupt = false;
    // The runner's store: its next state read lets a person switch off after it read, before its renewal is written.
    const runnerStore = new Proxy(store, {
      get(target, key) {
        if (key === 'readState') {
          return async () => {
            const value = await target.readState();
            if (interrupt) {
              interrupt = false;
              await person.disable({ by: 'person' });
            }
            return value;
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runner = new MaintenanceService({ store: runnerStore, cacheTtlMs: 0, logger: captureLogger() });
    services.push(runner);
    await runner.enable({ by: 'runner', leaseMs: 60_000 });
    interrupt = true;
    const renewal = await runner.renewLease().then(
      () => undefined,
      (err: MaintenanceError) => err.code,
    );
    expect(renewal, 'read again: the state has no lease now').to.equal('ERR_MAINTENANCE_INVALID_SCHEDULE');
    const now = await person.getStoredState();
    expect(now, 'the person’s off stands').to.include({ enabled: false, updatedBy: 'person' });
  });

  it('refuses the fleet for a store that keeps no presence, naming the stores that do', async () => {
    const Keyv = (await import('keyv')).default;
    const s = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
    services.push(s);
    const err = await s.waitForFleet().catch((e) => e);
    expect(err).to.have.property('code', 'ERR_MAINTENANCE_NO_FLEET');
    expect(err.message).to.match(/needs Redis, PostgreSQL or the file store/);
  });
});

describe('the fleet: requests in flight', () => {
  it('counts a request until it ends, also when the app throws, for the whole site and for a scope', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-inflight-'));
    const service = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    try {
      const errors: Error[] = [];
      let seen = -1;
      const make = (scope?: string) => {
        const app = new Koa();
        app.silent = true;
        app.on('error', (err: Error) => errors.push(err));
        app.use(maintenance({ service, ...(scope ? { scope } : {}) }));
        app.use(async (ctx) => {
          seen = service.inFlight.total;
          if (ctx.path === '/boom') throw new Error('the app failed');
          await sleep(5);
          ctx.body = 'ok';
        });
        return () => supertest(app.callback());
      };
      for (const request of [make(), make('billing')]) {
        await request().get('/').expect(200);
        expect(seen, 'counted while the app ran').to.equal(1);
        expect(service.inFlight.total).to.equal(0);
        await request().get('/boom').expect(500);
        expect(service.inFlight.total, 'a request that threw is no longer in flight').to.equal(0);
      }
      expect(errors.map((e) => e.message)).to.deep.equal(['the app failed', 'the app failed']);
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports at once that a scope drained when its last request ends after the switch, not at the next heartbeat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-scope-drain-'));
    const service = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    const app = new Koa();
    let release: () => void = () => undefined;
    const released = new Promise<void>((done) => (release = done));
    // The heartbeat is a minute away: only the report made when the count falls to 0 can end the wait in time.
    app.use(maintenance({ service, presence: { intervalMs: 60_000 }, scope: (ctx) => ctx.get('x-tenant') }));
    app.use(async (ctx) => {
      if (ctx.path === '/slow') await released;
      ctx.body = 'ok';
    });
    const request = supertest(app.callback());
    try {
      await request.get('/').set('x-tenant', 'other').expect(200); // joins the fleet; a tenant no drain waits for
      const slow = request
        .get('/slow')
        .set('x-tenant', 'acme')
        .then((r) => r.status);
      await until(() => service.inFlight.total === 1, 10_000);
      await service.enable({ scope: 'acme' });
      const drain = async () => (await service.fleet('acme')).instances[0]?.drain?.acme;
      await until(async () => (await drain()) === 1, 10_000);
      release();
      expect(await slow, 'let in before the switch: it finishes').to.equal(200);
      const fleet = await service.waitForFleet({ scope: 'acme', timeoutMs: 5000 });
      expect(fleet.instances[0].drain?.acme, 'the drain reported').to.equal(undefined);
      await request.get('/').set('x-tenant', 'acme').expect(503);
    } finally {
      release();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
