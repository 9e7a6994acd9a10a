import 'reflect-metadata';
import { expect } from 'chai';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { useKoaServer } from 'routing-controllers';
import supertest from 'supertest';
import {
  createMaintenanceApiController,
  type MaintenanceService,
  maintenanceApi,
  maintenanceRoutes,
} from '../src/index.js';
import { memoryService } from './helpers/app.js';

const API = '/maintenance-mode/api';

/** `levels` arrays nested in each other: `[[[…]]]`. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** An app with the control API (or anything `mount` adds) that records every error Koa would log. */
function appWith(mount: (app: Koa) => void) {
  const app = new Koa();
  app.silent = true; // what would be logged is what reaches 'error'
  const logged: Error[] = [];
  app.on('error', (err: Error) => logged.push(err));
  mount(app);
  return { logged, request: () => supertest(app.callback()) };
}

/** Asserts an RFC 9457 400 whose errors name exactly `fields`, and returns its errors. */
function badFields(res: supertest.Response, fields: string[]) {
  expect(res.status, JSON.stringify(res.body)).to.equal(400);
  expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(res.body).to.include({ status: 400, type: 'urn:koa-maintenance-mode:problem:invalid_body' });
  const errors = res.body.errors as Array<{ field: string; detail: string }>;
  expect(errors.map((e) => e.field)).to.deep.equal(fields);
  for (const e of errors) expect(e.detail).to.include(e.field);
  return errors;
}

/** A bad body for each POST route, built around the route's free-form field. */
const ROUTES = [
  { path: '/on', field: 'message', rest: {} },
  { path: '/off', field: 'scope', rest: {} },
  { path: '/windows', field: 'message', rest: { rrule: 'FREQ=DAILY', tz: 'UTC', start: '02:00', durationMinutes: 5 } },
  { path: '/wait', field: 'scope', rest: { timeoutMs: 1000 } },
];

describe('control API bodies: what a hostile or broken client sends gets 400, never 500', () => {
  let service: MaintenanceService;
  let token: string;
  let app: ReturnType<typeof appWith>;
  beforeEach(async () => {
    service = memoryService();
    token = (await service.createToken({ label: 'ci', allow: ['on', 'off', 'windows', 'read'] })).token;
    app = appWith((a) => a.use(maintenanceApi({ service }).routes()));
  });
  afterEach(() => service.close());

  const post = (path: string, raw: string) =>
    app.request().post(`${API}${path}`).set('Authorization', `Bearer ${token}`).type('json').send(raw);
  const withField = (rest: object, field: string, json: string) =>
    `{${Object.entries(rest)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
      .join('')}${JSON.stringify(field)}:${json}}`;

  for (const { path, field, rest } of ROUTES) {
    it(`POST ${path}: 5,000 nested arrays in ${field} get 400 naming ${field}, nothing logged or changed`, async () => {
      const [e] = badFields(await post(path, withField(rest, field, nested(5000))), [field]);
      expect(e?.detail).to.include('nested more than 32 levels');
      expect(app.logged).to.deep.equal([]);
      expect(await service.getStoredState()).to.include({ enabled: false });
      expect(await service.windows()).to.deep.equal([]);
    });

    it(`POST ${path}: prototype keys at any depth of ${field} get 400 naming the path`, async () => {
      badFields(await post(path, withField(rest, field, '{"constructor":"x"}')), [`${field}.constructor`]);
      badFields(await post(path, withField(rest, field, '{"en":{"__proto__":{"polluted":1}}}')), [
        `${field}.en.__proto__`,
      ]);
      badFields(await post(path, withField(rest, field, '[1,{"prototype":{}}]')), [`${field}[1].prototype`]);
      expect(app.logged).to.deep.equal([]);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      expect(await service.getStoredState()).to.include({ enabled: false });
    });
  }

  it('draws the line at 32 levels: 31 nested arrays reach the field rules, 32 are refused for their depth', async () => {
    const [within] = badFields(await post('/on', `{"message":${nested(31)}}`), ['message']);
    expect(within?.detail).to.match(/^message must be a text/);
    const [beyond] = badFields(await post('/on', `{"message":${nested(32)}}`), ['message']);
    expect(beyond?.detail).to.equal('message is nested more than 32 levels deep; send it as a text or a flat object');
    expect(app.logged).to.deep.equal([]);
  });

  it('still takes a good body, a message per language included', async () => {
    const res = await post('/on', '{"message":{"en":"Back soon","de":"Bald zurück"}}');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect((await service.getStoredState()).message).to.deep.equal({ en: 'Back soon', de: 'Bald zurück' });
  });

  it('refuses the same through routing-controllers, whose body parser read the JSON first', async () => {
    const rc = appWith((a) => useKoaServer(a, { controllers: [createMaintenanceApiController({ service })] }));
    const send = (raw: string) =>
      rc.request().post(`${API}/on`).set('Authorization', `Bearer ${token}`).type('json').send(raw);
    badFields(await send(`{"message":${nested(5000)}}`), ['message']);
    badFields(await send('{"message":{"constructor":"x"}}'), ['message.constructor']);
    expect(rc.logged).to.deep.equal([]);
    expect(await service.getStoredState()).to.include({ enabled: false });
  });
});

describe('toggle route bodies: form and JSON fields with prototype keys or deep nesting get 400', () => {
  let service: MaintenanceService;
  let app: ReturnType<typeof appWith>;
  beforeEach(() => {
    service = memoryService();
    app = appWith((a) => {
      a.use(bodyParser());
      a.use(async (ctx, next) => {
        ctx.state.user = { username: 'alice', isSuperuser: true };
        await next();
      });
      a.use(maintenanceRoutes({ service }).routes());
    });
  });
  afterEach(() => service.close());

  const refused = async (res: supertest.Response, field: string) => {
    expect(res.status, JSON.stringify(res.body)).to.equal(400);
    expect(res.body.error).to.equal('ERR_MAINTENANCE_INVALID_OPTION');
    expect(res.body.message).to.include(field);
    expect(app.logged).to.deep.equal([]);
    expect(await service.getStoredState()).to.include({ enabled: false });
    expect(await service.windows()).to.deep.equal([]);
  };
  const json = (path: string, raw: string) =>
    app.request().post(`/maintenance-mode${path}`).set('Accept', 'application/json').type('json').send(raw);

  it('POST /on with a JSON message holding "constructor" is refused, not switched on without its message', async () => {
    await refused(await json('/on', '{"message":{"constructor":"x"}}'), 'message.constructor');
  });

  it('POST /on with form fields message[en]=…&message[constructor]=… is refused, not switched on without its message', async () => {
    // qs (koa-bodyparser's form parser) drops the prototype key itself and makes message an object: { en: 'Back' }.
    const res = await app
      .request()
      .post('/maintenance-mode/on')
      .set('Accept', 'application/json')
      .type('form')
      .send('message[en]=Back&message[constructor]=x');
    await refused(res, 'message must be a text');
  });

  it('POST /on with 5,000 nested arrays is refused naming the field', async () => {
    await refused(await json('/on', `{"message":${nested(5000)}}`), 'message is nested more than 32 levels');
  });

  it('POST /windows with a prototype key in a field is refused', async () => {
    const body = '{"rrule":"FREQ=DAILY","tz":"UTC","start":"02:00","durationMinutes":5,"message":{"prototype":1}}';
    await refused(await json('/windows', body), 'message.prototype');
  });
});
