import 'reflect-metadata';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import Koa from 'koa';
import { useContainer, useKoaServer } from 'routing-controllers';
import supertest from 'supertest';
import { Container } from 'typedi';
import {
  createMaintenanceApiController,
  createRedisStore,
  MaintenanceService,
  maintenance,
  maintenanceApi,
} from '../src/index.js';
import { API_ROUTES } from '../src/koa/api/spec.js';
import { captureLogger, inSeconds, memoryService, userFromHeader } from './helpers/app.js';
import { modulesLoadedBy } from './helpers/children.js';
import { cliRunner } from './helpers/cli.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS } from './helpers/wait.js';

const API = '/maintenance-mode/api';

/** An app as a pipeline meets it: the site behind maintenance(), the API beside it. */
function apiApp(
  service: MaintenanceService,
  options: Parameters<typeof maintenanceApi>[0] = {},
  site: Parameters<typeof maintenance>[0] = {},
) {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  app.use(maintenance({ ...site, service }));
  app.use(maintenanceApi({ service, isSuperuser: (ctx) => ctx.state.user?.admin === true, ...options }).routes());
  app.use((ctx) => {
    ctx.body = { page: 'the app' };
  });
  return () => supertest(app.callback());
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Asserts an RFC 9457 answer and returns its body. */
function problem(res: supertest.Response, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(res.body).to.include({ status, type: `urn:koa-maintenance-mode:problem:${code}` });
  expect(res.body.title).to.be.a('string');
  expect(res.body.detail).to.be.a('string');
  return res.body as { detail: string; errors?: Array<{ field: string; detail: string }> };
}

describe('control API: a pipeline with a token', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-api-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('switches on and off with a token made by the CLI, stays reachable during maintenance, records token:<label>', async () => {
    const cli = cliRunner(dir);
    const made = await cli([
      'token',
      'create',
      '--label',
      'deploy-bot',
      '--allow',
      'on,off,read',
      '--ttl',
      '30d',
      '--json',
    ]);
    expect(made.code, made.err).to.equal(0);
    const created = JSON.parse(made.out) as { id: string; token: string; allow: string[]; expiresAt: string };
    expect(created.token).to.match(/^mmt_[A-Za-z0-9_-]{43}$/); // 32 random bytes: 256 bits
    expect(created.allow).to.deep.equal(['on', 'off', 'read']);
    expect(Date.parse(created.expiresAt) - Date.now()).to.be.within(29.9 * 86_400_000, 30 * 86_400_000);

    const service = new MaintenanceService({
      stateFilePath: join(dir, 'maintenance_mode_state.json'),
      logger: captureLogger(),
    });
    try {
      const request = apiApp(service);
      const end = inSeconds(3600);
      const on = await request()
        .post(`${API}/on`)
        .set(bearer(created.token))
        .send({ message: 'Migrating', end })
        .expect(200);
      expect(on.body).to.include({
        enabled: true,
        active: true,
        message: 'Migrating',
        end,
        updatedBy: 'token:deploy-bot',
      });
      await request().get('/shop').expect(503);
      const state = await request().get(`${API}/state`).set(bearer(created.token)).expect(200);
      expect(state.body).to.include({ enabled: true, message: 'Migrating' });
      expect(on.body.changed).to.equal(true); // a switch says whether it changed anything; the state does not
      const switched = Object.keys(on.body).filter((k) => k !== 'changed');
      expect(state.body).to.have.keys([...switched, 'scopes', 'windows', 'fleet']);
      await request().post(`${API}/off`).set(bearer(created.token)).expect(200);
      await request().get('/shop').expect(200);
      const history = await request().get(`${API}/history`).set(bearer(created.token)).expect(200);
      expect(history.body.entries.map((e: { by?: string; to: string }) => [e.to, e.by])).to.deep.equal([
        ['off', 'token:deploy-bot'],
        ['on', 'token:deploy-bot'],
      ]);
      // The store keeps the hash, never the token; `token list` never shows it either.
      const stored = readdirSync(dir, { recursive: true, encoding: 'utf8' }) // the state file and its side directory
        .filter((f) => statSync(join(dir, f)).isFile())
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n');
      expect(stored).to.not.include(created.token);
      expect(stored).to.include('deploy-bot');
      const listed = await cli(['token', 'list']);
      expect(listed.out).to.include(created.id).and.include('deploy-bot').and.not.include(created.token);
      const revoked = await cli(['token', 'revoke', created.id]);
      expect(revoked.code, revoked.err).to.equal(0);
      problem(await request().get(`${API}/state`).set(bearer(created.token)), 401, 'unauthorized');
      expect((await cli(['token', 'revoke', created.id])).err).to.include('No token has the id');
      expect((await cli(['token', 'create', '--allow', 'on'])).code, 'no --label').to.equal(2);
      const wrong = await cli(['token', 'create', '--label', 'x', '--allow', 'on,switch']);
      expect(wrong.err).to.include('may hold on, off, windows and read only');
    } finally {
      await service.close();
    }
  });

  it('refuses a missing, malformed, unknown, expired or revoked token alike (401 problem, nothing changed)', async () => {
    const service = memoryService();
    const request = apiApp(service);
    const expired = await service.createToken({ label: 'old', allow: ['on'], ttlMs: 1 });
    const revoked = await service.createToken({ label: 'gone', allow: ['on'] });
    await service.revokeToken(revoked.info.id);
    await new Promise((r) => setTimeout(r, 5));
    const unknown = `mmt_${'A'.repeat(43)}`;
    const details = new Set<string>();
    for (const auth of [bearer(expired.token), bearer(revoked.token), bearer(unknown)]) {
      const res = await request().post(`${API}/on`).set(auth).send({ message: 'x' });
      details.add(problem(res, 401, 'unauthorized').detail);
      expect(res.headers['www-authenticate']).to.equal('Bearer realm="maintenance-mode"');
      expect(JSON.stringify(res.body)).to.not.include(unknown);
    }
    expect([...details]).to.have.length(1); // never says which of the three it was
    problem(await request().post(`${API}/on`).set('Authorization', 'Basic b3BzOm9wcw=='), 401, 'unauthorized');
    problem(await request().post(`${API}/on`), 401, 'unauthorized');
    expect((await service.getStoredState()).enabled).to.equal(false);
    expect(await service.history()).to.deep.equal([]);
  });

  it('lets a token do only what it allows, and a scoped token act on its scope only', async () => {
    const service = memoryService();
    const request = apiApp(service);
    const onOnly = await service.createToken({ label: 'on-only', allow: ['on'] });
    const reader = await service.createToken({ label: 'reader', allow: ['read'] });
    const billing = await service.createToken({ label: 'billing-bot', allow: ['on', 'off', 'read'], scope: 'billing' });
    problem(await request().post(`${API}/off`).set(bearer(onOnly.token)), 403, 'forbidden');
    problem(await request().get(`${API}/state`).set(bearer(onOnly.token)), 403, 'forbidden');
    problem(await request().post(`${API}/on`).set(bearer(reader.token)).send({}), 403, 'forbidden');
    expect((await service.getStoredState()).enabled).to.equal(false);

    const on = await request().post(`${API}/on`).set(bearer(billing.token)).send({ message: 'Invoices' }).expect(200);
    expect(on.body).to.include({ scope: 'billing', enabled: true, updatedBy: 'token:billing-bot' });
    expect((await service.getStoredState()).enabled, 'the whole site').to.equal(false);
    expect((await service.getStoredState('billing')).enabled).to.equal(true);
    problem(await request().post(`${API}/on`).set(bearer(billing.token)).send({ scope: 'shop' }), 403, 'wrong_scope');
    problem(await request().post(`${API}/off`).set(bearer(billing.token)).send({ scope: 'shop' }), 403, 'wrong_scope');
    expect((await service.getStoredState('shop')).enabled).to.equal(false);
    await service.enable({ scope: 'shop', by: 'ops' });
    const seen = await request().get(`${API}/state`).set(bearer(billing.token)).expect(200);
    expect(seen.body.scope).to.equal('billing');
    expect(Object.keys(seen.body.scopes)).to.deep.equal(['billing']); // no other tenant's name
    const history = await request().get(`${API}/history`).set(bearer(billing.token)).expect(200);
    expect(history.body.entries.map((e: { scope?: string }) => e.scope)).to.deep.equal(['billing']);
  });

  it('refuses a token revoked on another instance at its next request (two instances, a real Redis)', async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    this.timeout(20_000);
    const redis: TestRedis = await startRedis();
    const a = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() });
    const b = new MaintenanceService({ store: createRedisStore(redis.url), logger: captureLogger() });
    try {
      const made = await a.createToken({ label: 'ci', allow: ['read'] });
      const onB = apiApp(b);
      await onB().get(`${API}/state`).set(bearer(made.token)).expect(200);
      await a.revokeToken(made.info.id);
      problem(await onB().get(`${API}/state`).set(bearer(made.token)), 401, 'unauthorized');
      expect(await b.tokens()).to.deep.equal([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await redis.dispose();
    }
  });
});

describe('control API: bad input', () => {
  let service: MaintenanceService;
  let request: () => supertest.Agent;
  let token: string;
  beforeEach(async () => {
    service = memoryService();
    request = apiApp(service);
    token = (await service.createToken({ label: 't', allow: ['on', 'off', 'windows', 'read'] })).token;
  });
  afterEach(async () => {
    expect((await service.getStoredState()).enabled, 'no state change').to.equal(false);
    expect(await service.history(), 'no history entry').to.deep.equal([]);
  });

  it('answers malformed JSON, a non-object and a non-JSON body with a clear problem', async () => {
    const send = (type: string, body: string) =>
      request().post(`${API}/on`).set(bearer(token)).set('Content-Type', type).send(body);
    expect(problem(await send('application/json', '{"message": '), 400, 'invalid_json').detail).to.match(
      /not valid JSON/,
    );
    problem(await send('application/json', '["on"]'), 400, 'invalid_body');
    problem(await send('application/json', 'null'), 400, 'invalid_body');
    problem(await send('text/plain', 'on please'), 415, 'unsupported_media_type');
  });

  it('lists every bad field once: wrong types, unknown fields (with their names), a prototype key', async () => {
    const res = await request()
      .post(`${API}/on`)
      .set(bearer(token))
      .send({ mesage: 'Typo', readOnly: 'yes', end: 5, scope: '../x' });
    const body = problem(res, 400, 'invalid_body');
    expect(body.errors?.map((e) => e.field).sort()).to.deep.equal(['end', 'mesage', 'readOnly', 'scope']);
    expect(body.errors?.find((e) => e.field === 'mesage')?.detail).to.equal(
      'mesage is not a field of this body; did you mean message?',
    );
    expect(body.errors?.find((e) => e.field === 'readOnly')?.detail).to.equal('readOnly must be true or false');
    const proto = await request()
      .post(`${API}/on`)
      .set(bearer(token))
      .set('Content-Type', 'application/json')
      .send('{"__proto__": {"enabled": true}}');
    expect(problem(proto, 400, 'invalid_body').errors).to.deep.equal([
      { field: '__proto__', detail: '__proto__ is not a field of this body' },
    ]);
    const window = await request()
      .post(`${API}/windows`)
      .set(bearer(token))
      .send({ rrule: 7, tz: 'Europe/Berlin', start: 'tomorrow' });
    expect(
      problem(window, 400, 'invalid_body')
        .errors?.map((e) => e.field)
        .sort(),
    ).to.deep.equal(['durationMinutes', 'rrule', 'start']);
  });

  it('refuses what the DTO accepts but the service does not, naming the field (an end in the past, a bad zone)', async () => {
    const past = problem(
      await request()
        .post(`${API}/on`)
        .set(bearer(token))
        .send({ end: inSeconds(-60) }),
      400,
      'invalid_schedule',
    );
    expect(past.errors?.[0]?.field).to.equal('end');
    const zone = { rrule: 'FREQ=DAILY', tz: 'Mars/Olympus', start: '03:00', durationMinutes: 30 };
    const bad = problem(await request().post(`${API}/windows`).set(bearer(token)).send(zone), 400, 'invalid_window');
    expect(bad.errors?.[0]?.field).to.equal('tz');
  });

  it('bounds the body: a huge one gets 413 without being read whole', async () => {
    const huge = JSON.stringify({ message: 'x'.repeat(2_000_000) });
    const res = await request().post(`${API}/on`).set(bearer(token)).set('Content-Type', 'application/json').send(huge);
    expect(problem(res, 413, 'body_too_large').detail).to.include('16384');
  });

  it('answers unknown routes 404 and wrong methods 405 with Allow, as problems', async () => {
    problem(await request().get(`${API}/nothing`).set(bearer(token)), 404, 'not_found');
    const res = await request().get(`${API}/on`).set(bearer(token));
    problem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).to.equal('POST');
    problem(await request().delete(`${API}/windows/none`).set(bearer(token)), 404, 'unknown_window');
  });
});

describe('control API: sessions, windows, fleet, routing-controllers and the OpenAPI document', () => {
  afterEach(() => Container.reset());

  it("lets a superuser's same-site session switch without a token, and refuses a cross-site one", async () => {
    const service = memoryService();
    const request = apiApp(service);
    const admin = JSON.stringify({ username: 'alice', admin: true });
    problem(
      await request()
        .post(`${API}/on`)
        .set('x-user', JSON.stringify({ username: 'bob' })),
      401,
      'unauthorized',
    );
    problem(
      await request().post(`${API}/on`).set('x-user', admin).set('Origin', 'https://evil.example'),
      403,
      'cross_site',
    );
    expect((await service.getStoredState()).enabled).to.equal(false);
    const res = await request().post(`${API}/on`).set('x-user', admin).send({ message: 'By hand' }).expect(200);
    expect(res.body).to.include({ enabled: true, updatedBy: 'alice' });
  });

  it("records a session's readable name as updatedBy: an e-mail before an id, an id alone as user:<id>", async () => {
    const request = apiApp(memoryService());
    const carol = JSON.stringify({ id: 42, email: 'carol@example.com', admin: true });
    const on = await request().post(`${API}/on`).set('x-user', carol).send({}).expect(200);
    expect(on.body).to.include({ enabled: true, updatedBy: 'carol@example.com' });
    const off = await request()
      .post(`${API}/off`)
      .set('x-user', JSON.stringify({ id: 42, admin: true }))
      .expect(200);
    expect(off.body).to.include({ enabled: false, updatedBy: 'user:42' });
  });

  it('adds, lists and removes recurring windows; a scoped token manages its scope only', async () => {
    const service = memoryService();
    const request = apiApp(service);
    const ops = (await service.createToken({ label: 'ops', allow: ['windows', 'read'] })).token;
    const billing = (await service.createToken({ label: 'b', allow: ['windows', 'read'], scope: 'billing' })).token;
    const nightly = {
      id: 'nightly',
      rrule: 'FREQ=DAILY',
      tz: 'Europe/Berlin',
      start: '03:00',
      durationMinutes: 30,
      message: 'Backup',
    };
    const added = await request().post(`${API}/windows`).set(bearer(ops)).send(nightly).expect(201);
    expect(added.body).to.include({ id: 'nightly', by: 'token:ops' });
    const mine = await request()
      .post(`${API}/windows`)
      .set(bearer(billing))
      .send({ ...nightly, id: 'invoices' })
      .expect(201);
    expect(mine.body.scope).to.equal('billing');
    const listed = await request().get(`${API}/windows`).set(bearer(ops)).expect(200);
    expect(listed.body.windows.map((w: { id: string }) => w.id)).to.deep.equal(['nightly', 'invoices']);
    expect(listed.body.windows[0].next).to.have.length(3);
    problem(await request().delete(`${API}/windows/nightly`).set(bearer(billing)), 404, 'unknown_window');
    await request().delete(`${API}/windows/invoices`).set(bearer(billing)).expect(204);
    await request().delete(`${API}/windows/nightly`).set(bearer(ops)).expect(204);
    expect(await service.windows()).to.deep.equal([]);
  });

  it('waits for the fleet (POST /wait): each switch is applied by push, not at the next heartbeat', async function () {
    this.timeout(6 * PATIENCE_MS); // five waits, each allowed PATIENCE_MS
    const dir = mkdtempSync(join(tmpdir(), 'kmm-api-wait-'));
    const service = new MaintenanceService({ stateFilePath: join(dir, 'state.json'), logger: captureLogger() });
    try {
      // Heartbeats a minute apart: a wait that settles within PATIENCE_MS was settled by the instance's own change signal.
      const request = apiApp(service, {}, { presence: { intervalMs: 60_000 } });
      const token = (await service.createToken({ label: 'ci', allow: ['on', 'off', 'read'] })).token;
      await request().get('/').expect(200); // the middleware joins the fleet with its first request
      for (const step of ['on', 'off', 'on', 'off', 'on']) {
        await request().post(`${API}/${step}`).set(bearer(token)).send({}).expect(200);
        const settled = await request().post(`${API}/wait`).set(bearer(token)).send({ timeoutMs: PATIENCE_MS });
        expect(settled.status, `${step}: ${JSON.stringify(settled.body)}`).to.equal(200);
        expect(settled.body.instances).to.have.length(1);
        expect(settled.body.instances[0].applied).to.equal(settled.body.revision);
      }
      problem(await request().post(`${API}/wait`).set(bearer(token)).send({ timeoutMs: 0 }), 400, 'invalid_body');
    } finally {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the same API as a routing-controllers controller', async () => {
    useContainer(Container);
    const service = memoryService();
    Container.set(MaintenanceService, service);
    const app = new Koa();
    app.silent = true;
    app.use(maintenance({ service }));
    useKoaServer(app, { controllers: [createMaintenanceApiController({ service })] });
    const request = () => supertest(app.callback());
    const token = (await service.createToken({ label: 'rc', allow: ['on', 'off', 'read'] })).token;
    await request().post(`${API}/on`).set(bearer(token)).send({ message: 'From rc' }).expect(200);
    expect((await service.getStoredState()).message).to.equal('From rc');
    const state = await request().get(`${API}/state`).set(bearer(token)).expect(200); // during maintenance
    expect(state.body.enabled).to.equal(true);
    problem(await request().post(`${API}/off`).set(bearer(token)).send({ scop: 'x' }), 400, 'invalid_body');
    await request().post(`${API}/off`).set(bearer(token)).send({}).expect(200);
    expect((await service.getStoredState()).enabled).to.equal(false);
  });

  it('publishes a valid OpenAPI 3.1 document, made from the DTOs, with every route the router serves', async () => {
    const service = memoryService();
    const router = maintenanceApi({ service });
    const request = apiApp(service);
    const doc = (await request().get(`${API}/openapi.json`).expect(200)).body;
    const result = await new Validator().validate(doc);
    expect(result, JSON.stringify(result.errors)).to.deep.include({ valid: true });
    expect(doc.openapi).to.equal('3.1.0');
    const served = router.stack
      .filter((l) => !String(l.path).includes('*'))
      .flatMap((l) =>
        l.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(l.path).replace(/:(\w+)/g, '{$1}')}`),
      );
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(served.sort()).to.deep.equal(documented.sort());
    expect(documented).to.have.length(API_ROUTES.length);
    const on = doc.components.schemas.MaintenanceOnBody;
    expect(Object.keys(on.properties)).to.have.members(['message', 'start', 'end', 'scope', 'readOnly', 'dryRun']);
    expect(on.additionalProperties).to.equal(false);
    expect(doc.components.schemas.WindowBody.required).to.have.members(['rrule', 'tz', 'start', 'durationMinutes']);
    expect(doc.paths[`${API}/on`].post.requestBody.content['application/json'].schema.$ref).to.equal(
      '#/components/schemas/MaintenanceOnBody',
    );
  });

  it('loads class-validator only when an API is built: importing the package stays as fast as before', function () {
    this.timeout(60_000); // two Node processes loading the package, each allowed 25 s
    const loaded = (code: string) => modulesLoadedBy(code, /node_modules\/class-(validator|transformer)/);
    expect(loaded("require('./dist/index.js')")).to.equal(0);
    expect(loaded("require('./dist/index.js').maintenanceApi()")).to.be.above(0);
  });
});
