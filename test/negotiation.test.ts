import { expect } from 'chai';
import { createTestApp, inSeconds } from './helpers/app.js';

describe('negotiated answers, health paths, preflights, decision header', () => {
  it("'auto' answers HTML, JSON or RFC 9457 problem+json from Accept, with Vary: Accept", async () => {
    const t = createTestApp({ responseType: 'auto' });
    const end = inSeconds(600);
    await t.service.enable({ message: 'Upgrading', end });
    const problem = await t.request().get('/api').set('Accept', 'application/problem+json').expect(503);
    expect(problem.headers['content-type']).to.equal('application/problem+json; charset=utf-8');
    expect(problem.headers.vary).to.equal('Accept-Language, Accept');
    const body = JSON.parse(problem.text);
    expect(body).to.include({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'Upgrading',
      end: new Date(end).toISOString(),
    });
    expect(body.retryAfter).to.be.within(595, 600);
    const json = await t.request().get('/api').set('Accept', 'application/json').expect(503);
    expect(json.body).to.include({ maintenance: true, message: 'Upgrading' });
    const html = await t.request().get('/').set('Accept', 'text/html,*/*;q=0.8').expect(503);
    expect(html.headers['content-type']).to.equal('text/html; charset=utf-8');
  });

  it("responseType 'problem' uses a default detail without a message", async () => {
    const t = createTestApp({ responseType: 'problem', retryAfter: null });
    await t.service.enable();
    const r = await t.request().get('/').expect(503);
    expect(JSON.parse(r.text)).to.deep.equal({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The service is down for maintenance.',
    });
  });

  it('keeps CORS headers set by earlier middleware on the 503', async () => {
    const t = createTestApp({ responseType: 'json' }, (app) =>
      app.use(async (ctx, next) => {
        ctx.set('Access-Control-Allow-Origin', 'https://app.example');
        await next();
      }),
    );
    await t.service.enable();
    const r = await t.request().get('/api').expect(503);
    expect(r.headers['access-control-allow-origin']).to.equal('https://app.example');
  });

  it('does not block CORS preflights, only the requests they announce', async () => {
    const t = createTestApp();
    await t.service.enable();
    const r = await t
      .request()
      .options('/api')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(r.status).to.equal(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'cors-preflight' });
    await t.request().options('/api').expect(503); // a plain OPTIONS is no preflight
  });

  it('serves health paths during maintenance (GET and HEAD), answering 200 itself when the app has no route', async () => {
    const t = createTestApp({ healthPaths: true }, (app) =>
      app.use(async (ctx, next) => {
        if (ctx.path === '/readyz') {
          ctx.body = 'ready';
          return;
        }
        await next();
      }),
    );
    await t.service.enable();
    const own = await t.request().get('/healthz').expect(200);
    // the test app's final handler answers every path, so the route exists here:
    expect(own.body.decision).to.deep.equal({ blocked: false, rule: 'healthPaths' });
    await t.request().head('/healthz').expect(200);
    await t.request().get('/readyz').expect(200, 'ready');
    await t.request().get('/healthzz').expect(503);
  });

  it('answers a health path the app does not serve with 200 and the maintenance flag', async () => {
    const Koa = (await import('koa')).default;
    const supertest = (await import('supertest')).default;
    const { maintenance } = await import('../src/index.js');
    const { memoryService } = await import('./helpers/app.js');
    const service = memoryService();
    const app = new Koa();
    app.use(maintenance({ service, healthPaths: ['/livez'] }));
    await service.enable();
    const r = await supertest(app.callback()).get('/livez').expect(200);
    expect(r.body).to.deep.equal({ status: 'ok', maintenance: true });
    await supertest(app.callback()).head('/livez').expect(200);
    await supertest(app.callback()).get('/other').expect(503);
  });

  it('exposes the deciding rule in X-Maintenance-Decision when asked', async () => {
    const t = createTestApp({ exposeDecision: true, ignoreUrls: ['/open'] });
    expect((await t.request().get('/')).headers['x-maintenance-decision']).to.equal('pass; rule=state-off');
    await t.service.enable();
    expect((await t.request().get('/open')).headers['x-maintenance-decision']).to.equal('pass; rule=ignoreUrls');
    expect((await t.request().get('/x')).headers['x-maintenance-decision']).to.equal('blocked; rule=maintenance');
    const quiet = createTestApp();
    expect((await quiet.request().get('/')).headers['x-maintenance-decision']).to.equal(undefined);
  });
});

describe('read-only maintenance', () => {
  it('lets safe methods through with ctx.state.maintenanceReadOnly and blocks writes', async () => {
    const t = createTestApp({}, (app) =>
      app.use(async (ctx, next) => {
        await next();
        if (ctx.status === 200) ctx.set('X-Read-Only', String(ctx.state.maintenanceReadOnly));
      }),
    );
    await t.service.enable({ readOnly: true, message: 'Read-only while we migrate' });
    const get = await t.request().get('/orders').expect(200);
    expect(get.body.decision).to.deep.equal({ blocked: false, rule: 'read-only' });
    expect(get.headers['x-read-only']).to.equal('true');
    await t.request().head('/orders').expect(200);
    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      const r = await t.request()[method]('/orders').expect(503);
      expect(r.text).to.include('Read-only while we migrate');
    }
  });

  it('still lets exempt users write', async () => {
    const t = createTestApp({ ignoreIpAddresses: ['127.0.0.1'] });
    await t.service.enable({ readOnly: true });
    await t.request().post('/orders').expect(200);
  });

  it('is recorded in the state and cleared by the next enable()', async () => {
    const t = createTestApp();
    await t.service.enable({ readOnly: true });
    expect(await t.service.getState()).to.include({ readOnly: true });
    await t.service.enable();
    expect(await t.service.getState()).to.not.have.property('readOnly');
    await t.request().get('/').expect(503);
  });
});
