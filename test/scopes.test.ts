import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import {
  createMaintenanceLogFilter,
  hostnameScope,
  MaintenanceError,
  type MaintenanceOptions,
  type MaintenanceService,
  maintenance,
  MaintenanceService as Service,
  scopeByHostname,
  withMaintenanceOn,
} from '../src/index.js';
import { captureLogger, countingKeyv, createTestApp, inSeconds, memoryService, userFromHeader } from './helpers/app.js';

/** A shop whose billing and catalog are separate routers, each with its own scoped maintenance(). */
function shop(service: MaintenanceService, billingOptions: object = {}) {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  const billing = new Router({ prefix: '/billing' });
  billing.use(maintenance({ service, scope: 'billing', exposeDecision: true, ...billingOptions }));
  billing.all('/invoices', (ctx) => {
    ctx.body = { invoices: [], decision: ctx.state.maintenanceDecision, mode: ctx.state.maintenanceMode };
  });
  const catalog = new Router({ prefix: '/catalog' });
  catalog.use(maintenance({ service, scope: 'catalog' }));
  catalog.get('/items', (ctx) => {
    ctx.body = { items: ['lamp'] };
  });
  app.use(billing.routes());
  app.use(catalog.routes());
  return () => supertest(app.callback());
}

describe('scopes: one part of the site in maintenance, the rest up', () => {
  it('takes billing down while the catalog answers, names the scope, and brings it back', async () => {
    const service = memoryService();
    const request = shop(service);
    await service.enable({ scope: 'billing', message: 'Billing is moving to a new provider', by: 'ops' });
    const r = await request().get('/billing/invoices').set('Accept', 'text/html').expect(503);
    expect(r.text).to.include('Billing is moving to a new provider');
    expect(r.headers['x-maintenance-decision']).to.equal('blocked; rule=maintenance; scope=billing');
    await request()
      .get('/catalog/items')
      .expect(200, { items: ['lamp'] });
    expect(await service.isEnabled('billing')).to.equal(true);
    expect(await service.isEnabled('catalog')).to.equal(false);
    expect(await service.isEnabled()).to.equal(false);
    await service.disable({ scope: 'billing', by: 'ops' });
    const back = await request().get('/billing/invoices').expect(200);
    expect(back.body).to.deep.include({ mode: false, decision: { blocked: false, rule: 'state-off' } });
  });

  it('lets the global state win when both are on: its message answers and no scope is named', async () => {
    const service = memoryService();
    const request = shop(service);
    await service.enable({ scope: 'billing', message: 'billing message' });
    await service.enable({ message: 'Whole site down' });
    const r = await request().get('/billing/invoices').expect(503);
    expect(r.text).to.include('Whole site down').and.not.include('billing message');
    expect(r.headers['x-maintenance-decision']).to.equal('blocked; rule=maintenance');
    await request().get('/catalog/items').expect(503);
    await service.disable();
    expect((await request().get('/billing/invoices').expect(503)).text).to.include('billing message');
  });

  it('applies every bypass rule to scoped maintenance the same way', async () => {
    const service = memoryService();
    const request = shop(service, { ignoreStaff: true, ignoreUrls: ['/billing/invoices/public'] });
    await service.enable({ scope: 'billing', readOnly: false });
    const staff = await request().get('/billing/invoices').set('x-user', '{"isStaff":true}').expect(200);
    expect(staff.body.decision).to.deep.equal({ blocked: false, rule: 'ignoreStaff', scope: 'billing' });
    expect(staff.body.mode).to.equal(true);
    expect(staff.headers['x-maintenance-decision']).to.equal('pass; rule=ignoreStaff; scope=billing');
    await request().get('/billing/invoices').set('x-user', '{}').expect(503);
  });

  it('honours a scoped window: scheduled later it is not active yet; read-only blocks writes only', async () => {
    const service = memoryService();
    const request = shop(service);
    await service.enable({ scope: 'billing', start: inSeconds(60), end: inSeconds(120) });
    await request().get('/billing/invoices').expect(200);
    expect(await service.isEnabled('billing')).to.equal(false);
    await service.enable({ scope: 'billing', readOnly: true });
    const read = await request().get('/billing/invoices').expect(200);
    expect(read.body.decision).to.deep.equal({ blocked: false, rule: 'read-only', scope: 'billing' });
    await request().post('/billing/invoices').expect(503);
  });

  it('lists enabled scopes with scopes(), and forgets a scope once it is disabled', async () => {
    const service = memoryService();
    await service.enable({ scope: 'tenant:7', message: 'seven' });
    await service.enable({ scope: 'billing' });
    await service.enable({ scope: 'catalog' });
    await service.disable({ scope: 'catalog' });
    const scopes = await service.scopes();
    expect(scopes.map((s) => s.scope)).to.deep.equal(['billing', 'tenant:7']);
    expect(scopes[1].state).to.include({ enabled: true, message: 'seven' });
    expect(await service.getStoredState('catalog')).to.deep.equal({ enabled: false });
    expect(await service.getState()).to.deep.equal({ enabled: false });
  });

  it('records the scope in the history and announces scoped changes with the scope', async () => {
    const service = memoryService();
    await service.scopeStates(); // this instance uses scopes: their changes are announced
    const events: Array<[string, string | undefined]> = [];
    service.on('enabled', (_s, scope) => events.push(['enabled', scope]));
    service.on('disabled', (_s, scope) => events.push(['disabled', scope]));
    await service.enable({ scope: 'billing', by: 'ann', message: 'invoices' });
    await service.disable({ scope: 'billing', by: 'ann' });
    await service.enable({ by: 'bob' });
    const history = await service.history();
    expect(history.map((e) => [e.scope, e.from, e.to, e.by])).to.deep.equal([
      [undefined, 'off', 'on', 'bob'],
      ['billing', 'on', 'off', 'ann'],
      ['billing', 'off', 'on', 'ann'],
    ]);
    expect(events).to.deep.equal([
      ['enabled', 'billing'],
      ['disabled', 'billing'],
      ['enabled', undefined],
    ]);
  });

  it('refuses invalid scope names with a MaintenanceError, in the service and at startup', async () => {
    const service = memoryService();
    for (const bad of ['', '../etc/passwd', 'has space', '-lead', 'a'.repeat(129), 'é']) {
      const err = await service.enable({ scope: bad }).catch((e) => e);
      expect(err, bad).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_INVALID_SCOPE');
    }
    const err = await service.getState('a/b').catch((e) => e);
    expect(err).to.be.instanceOf(MaintenanceError);
    expect(() => maintenance({ service, scope: 'bad name' })).to.throw(MaintenanceError, /scope/);
    expect(() => maintenance({ service, scope: 42 as never })).to.throw(MaintenanceError, /scope/);
    expect(await service.scopes()).to.deep.equal([]);
  });

  it('switches one scope for a job with withMaintenanceOn(fn, { scope }) and restores it after', async () => {
    const service = memoryService();
    const during = await withMaintenanceOn(
      async () => [
        await service.isEnabled('tenant:42'),
        await service.isEnabled('tenant:43'),
        await service.isEnabled(),
      ],
      { service, scope: 'tenant:42' },
    );
    expect(during).to.deep.equal([true, false, false]);
    expect(await service.isEnabled('tenant:42')).to.equal(false);
    expect((await service.history()).map((e) => [e.scope, e.source, e.to])).to.deep.equal([
      ['tenant:42', 'job', 'off'],
      ['tenant:42', 'job', 'on'],
    ]);
  });

  it('drops 503 log records of a scope in maintenance only, by record.scope or the marked response', async () => {
    const service = memoryService();
    const keep = createMaintenanceLogFilter(service);
    const logged: boolean[] = [];
    const app = new Koa();
    app.use(async (ctx, next) => {
      await next();
      logged.push(keep({ res: ctx.res }));
    });
    app.use(maintenance({ service, scope: (ctx) => ctx.get('x-tenant') || undefined }));
    app.use((ctx) => {
      ctx.status = 503; // the app's own 503 (an upstream failure), not maintenance
    });
    await service.enable({ scope: 'acme' });
    await supertest(app.callback()).get('/').set('x-tenant', 'acme').expect(503);
    await supertest(app.callback()).get('/').set('x-tenant', 'globex').expect(503);
    expect(logged).to.deep.equal([false, true]);
    expect(keep({ status: 503, scope: 'acme' })).to.equal(false);
    expect(keep({ status: 503, scope: 'globex' })).to.equal(true);
    expect(keep({ status: 503 })).to.equal(true);
    expect(keep({ status: 500, scope: 'acme' })).to.equal(true);
  });
});

describe('scopes: a per-tenant app', () => {
  it('serves 1,000 tenants with one in maintenance, reading the store once, not per tenant or request', async () => {
    const counter = countingKeyv();
    const service = memoryService({ store: counter.keyv, cacheTtlMs: 60_000 });
    await service.enable({ scope: 'tenant-42', message: 'Tenant 42 is migrating' });
    const t = createTestApp({ service, scope: (ctx) => ctx.get('x-tenant') || undefined });
    const readsBefore = counter.reads;
    const down: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = await t.request().get('/dashboard').set('x-tenant', `tenant-${i}`);
      if (r.status === 503) down.push(`tenant-${i}`);
      else expect(r.status).to.equal(200);
    }
    expect(down).to.deep.equal(['tenant-42']);
    // One read of the global state and one of the scope table, for 1,000 requests of 1,000 tenants.
    expect(counter.reads - readsBefore).to.equal(2);
    const r = await t.request().get('/dashboard').set('x-tenant', 'tenant-42').set('Accept', 'text/html');
    expect(r.text).to.include('Tenant 42 is migrating');
    const ok = await t.request().get('/dashboard').set('x-tenant', 'tenant-7').expect(200);
    expect(ok.body).to.deep.include({ maintenanceMode: false, decision: { blocked: false, rule: 'state-off' } });
  });

  it('takes the tenant from an async hook, and a hook that throws or returns a non-string means no scope', async () => {
    const service = memoryService();
    await service.enable({ scope: 'acme' });
    const t = createTestApp({
      service,
      scope: async (ctx) => {
        if (ctx.path === '/throws') throw new Error('tenant lookup failed');
        return (ctx.path === '/bad' ? { id: 42 } : 'acme') as string;
      },
    });
    await t.request().get('/x').expect(503);
    await t.request().get('/throws').expect(200);
    await t.request().get('/bad').expect(200);
    expect(t.errors.map((e) => e.message)).to.have.length(2);
    expect(t.errors[0].message).to.equal('tenant lookup failed');
    expect(t.errors[1]).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_INVALID_SCOPE');
  });

  it('keeps no timer, connection or state per tenant: 500 tenants seen, one table with one entry', async () => {
    const service = memoryService({ cacheTtlMs: 60_000 });
    await service.enable({ scope: 'tenant-9999' });
    const t = createTestApp({ service, scope: (ctx) => ctx.get('x-tenant') });
    await t.request().get('/').set('x-tenant', 'tenant-0').expect(200);
    const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const before = handles();
    const app = t.app.callback();
    for (let i = 1; i < 10_000; i += 1) {
      const r = await supertest(app).get('/').set('x-tenant', `tenant-${i}`);
      expect(r.status, `tenant-${i}`).to.equal(i === 9999 ? 503 : 200);
      if (i === 500) i = 9_998; // 500 tenants, then the one in maintenance
    }
    expect(handles()).to.be.at.most(before);
    expect([...(await service.scopeStates()).keys()]).to.deep.equal(['tenant-9999']);
  });
});

describe('scopes: the file store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-scopes-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps each scope in its own file named by a hash, never by the scope name', async () => {
    const service = new Service({ stateFilePath: join(dir, 'state.json'), cacheTtlMs: 0, logger: captureLogger() });
    await service.enable({ scope: 'tenant:..x', message: 'a' });
    await service.enable({ scope: 'billing', message: 'b' });
    const side = join(dir, 'state.json.d'); // the side directory beside the state file
    const files = readdirSync(side).filter((f) => f.startsWith('scope.'));
    expect(files).to.have.length(2);
    for (const f of files) expect(f).to.match(/^scope\.[0-9a-f]{32}\.json$/);
    expect((await service.scopes()).map((s) => [s.scope, s.state.message])).to.deep.equal([
      ['billing', 'b'],
      ['tenant:..x', 'a'],
    ]);
    await service.disable({ scope: 'billing' });
    expect(readdirSync(side).filter((f) => f.startsWith('scope.'))).to.have.length(1);
    expect(readdirSync(dir)).to.deep.equal(['state.json.d']); // the global state was never written
    await service.close();
  });
});

describe('scopes: one host name per tenant', () => {
  const hostApp = (scope: MaintenanceOptions['scope']) => {
    const service = memoryService();
    const app = new Koa();
    app.use(maintenance({ service, scope }));
    app.use((ctx) => {
      ctx.body = 'shop';
    });
    return { service, request: () => supertest(app.callback()) };
  };
  const hosts = [
    'shop.example.com',
    'SHOP.example.com',
    'shop.example.com.',
    'Shop.Example.COM.',
    'shop.example.com:8080',
  ];

  it('cannot be escaped by case or a trailing dot with scopeByHostname()', async () => {
    const t = hostApp(scopeByHostname());
    await t.service.enable({ scope: 'shop.example.com' });
    for (const host of hosts) await t.request().get('/').set('Host', host).expect(503);
    await t.request().get('/').set('Host', 'other.example.com').expect(200);
    await t.request().get('/').set('Host', '[::1]:3000').expect(200); // no scope name: decided on the global state
  });

  it('is what a raw ctx.hostname hook gets wrong (the escape this helper closes)', async () => {
    const t = hostApp((ctx) => ctx.hostname);
    await t.service.enable({ scope: 'shop.example.com' });
    await t.request().get('/').set('Host', 'shop.example.com').expect(503);
    await t.request().get('/').set('Host', 'SHOP.example.com').expect(200);
  });

  it('takes a prefix and normalises names the same way for scripts (hostnameScope)', async () => {
    const t = hostApp(scopeByHostname({ prefix: 'host:' }));
    await t.service.enable({ scope: 'host:shop.example.com' });
    await t.request().get('/').set('Host', 'SHOP.EXAMPLE.COM.').expect(503);
    expect(hostnameScope('Shop.Example.com.', 'host:')).to.equal('host:shop.example.com');
    expect(hostnameScope('a..')).to.equal(undefined);
    expect(() => scopeByHostname({ prefix: '../' })).to.throw(MaintenanceError, /scopeByHostname\(\{ prefix \}\)/);
  });
});
