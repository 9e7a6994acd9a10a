import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import { forceMaintenance, MaintenanceService, maintenance } from '../src/index.js';
import { tagMiddleware } from '../src/koa/force.js';
import { countingKeyv, memoryService } from './helpers/app.js';

const ok = (name: string) => (ctx: Koa.Context) => {
  ctx.body = { handler: name, maintenanceMode: ctx.state.maintenanceMode, decision: ctx.state.maintenanceDecision };
};

function appWith(router: Router, options: Parameters<typeof maintenance>[0] = {}) {
  const service = options?.service ?? memoryService();
  const app = new Koa();
  app.silent = true;
  app.use(maintenance({ ...options, service }));
  app.use(router.routes());
  return { app, service, request: () => supertest(app.callback()) };
}

describe('forceMaintenance() on @koa/router routes', () => {
  it("serves an 'off' route during maintenance and blocks the others", async () => {
    const router = new Router();
    router.get('/healthz', forceMaintenance('off'), ok('health'));
    router.get('/shop', ok('shop'));
    const t = appWith(router);
    await t.service.enable();
    const r = await t.request().get('/healthz').expect(200);
    expect(r.body).to.deep.include({ handler: 'health', decision: { blocked: false, rule: 'forced-off' } });
    await t.request().get('/shop').expect(503);
  });

  it("answers an 'on' route with the maintenance response while maintenance is off, without running it", async () => {
    let ran = false;
    const router = new Router();
    router.get('/legacy', forceMaintenance('on'), () => {
      ran = true;
    });
    router.get('/shop', ok('shop'));
    const t = appWith(router, { responseType: 'json' });
    const r = await t.request().get('/legacy').expect(503);
    expect(r.body).to.deep.equal({ maintenance: true, retryAfter: 3600 });
    expect(ran).to.equal(false);
    await t.request().get('/shop').expect(200);
  });

  it('reads no state for forced routes (health checks do not depend on the store)', async () => {
    const counter = countingKeyv();
    const router = new Router();
    router.get('/healthz', forceMaintenance('off'), ok('health'));
    const t = appWith(router, { service: new MaintenanceService({ store: counter.keyv }) });
    await t.request().get('/healthz').expect(200);
    await t.request().get('/healthz').expect(200);
    expect(counter.reads).to.equal(0);
  });

  it('matches routes with :params, HEAD for GET routes, and only the tagged method', async () => {
    const router = new Router();
    router.get('/items/:id', forceMaintenance('off'), ok('item'));
    router.post('/items/:id', ok('post-item'));
    const t = appWith(router);
    await t.service.enable();
    expect((await t.request().get('/items/42').expect(200)).body.handler).to.equal('item');
    await t.request().head('/items/42').expect(200);
    await t.request().post('/items/42').expect(503);
  });

  it('finds tags in nested routers with prefixes', async () => {
    const child = new Router({ prefix: '/v1' });
    child.get('/status', forceMaintenance('off'), ok('status'));
    child.get('/orders', ok('orders'));
    const parent = new Router();
    parent.use('/api', child.routes());
    const t = appWith(parent);
    await t.service.enable();
    await t.request().get('/api/v1/status').expect(200);
    await t.request().get('/api/v1/orders').expect(503);
  });

  it('applies a router-level tag to every route, and a route tag overrides it', async () => {
    const router = new Router();
    router.use(forceMaintenance('off'));
    router.get('/a', ok('a'));
    router.get('/b', forceMaintenance('on'), ok('b'));
    const t = appWith(router);
    await t.service.enable();
    await t.request().get('/a').expect(200);
    await t.service.disable();
    await t.request().get('/b').expect(503);
  });

  it('decides untagged and unmatched paths by the normal rules', async () => {
    const router = new Router();
    router.get('/healthz', forceMaintenance('off'), ok('health'));
    const t = appWith(router, { ignoreUrls: ['/public'] });
    await t.service.enable();
    await t.request().get('/nothing-here').expect(503);
    await t.request().get('/public').expect(404);
  });

  it('sees routers mounted after the first request', async () => {
    const service = memoryService();
    const app = new Koa();
    app.use(maintenance({ service }));
    const first = new Router();
    first.get('/a', ok('a'));
    app.use(first.routes());
    await service.enable();
    await supertest(app.callback()).get('/a').expect(503);
    const later = new Router();
    later.get('/late', forceMaintenance('off'), ok('late'));
    app.use(later.routes());
    await supertest(app.callback()).get('/late').expect(200);
  });

  it("passes the toggle routes' off URL during maintenance, before any user rule", async () => {
    const router = new Router();
    router.get(
      '/maintenance-mode/off',
      tagMiddleware(async (_ctx, next) => next(), { toggleOff: true }),
      ok('off'),
    );
    const t = appWith(router, { logoutAuthenticatedUser: true });
    await t.service.enable();
    const r = await t.request().get('/maintenance-mode/off').expect(200);
    expect(r.body.decision).to.deep.equal({ blocked: false, rule: 'toggle-off-url' });
  });

  it('rejects a mode other than on/off', () => {
    expect(() => forceMaintenance('maybe' as never)).to.throw(TypeError, /takes 'on' or 'off'; received "maybe"/);
  });
});

describe('forceMaintenance(): routers the look-ahead cannot see (e.g. inside a mounted sub-app)', () => {
  function hiddenApp(options: Parameters<typeof maintenance>[0] = {}) {
    const router = new Router();
    router.get('/legacy', forceMaintenance('on'), ok('legacy'));
    router.get('/healthz', forceMaintenance('off'), ok('health'));
    const dispatch = router.routes();
    const service = memoryService();
    const app = new Koa();
    app.silent = true;
    app.use(maintenance({ service, ...options }));
    app.use((ctx, next) => dispatch(ctx as never, next)); // a wrapper hides the router, as koa-mount does
    return { service, request: () => supertest(app.callback()) };
  }

  it("still answers 'on' routes with the enclosing maintenance() response (fallback)", async () => {
    const t = hiddenApp({ responseType: 'json', retryAfter: 60 });
    const r = await t.request().get('/legacy').expect(503);
    expect(r.body).to.deep.equal({ maintenance: true, retryAfter: 60 });
    expect(r.headers['cache-control']).to.match(/no-store/);
  });

  it("cannot serve 'off' routes during maintenance (documented limit: mount the router on the app)", async () => {
    const t = hiddenApp();
    await t.service.enable();
    await t.request().get('/healthz').expect(503);
  });

  it("answers a plain-text 503 for an 'on' route when no maintenance() is mounted", async () => {
    const router = new Router();
    router.get('/legacy', forceMaintenance('on'), ok('legacy'));
    const app = new Koa();
    app.use(router.routes());
    const r = await supertest(app.callback()).get('/legacy').expect(503);
    expect(r.text).to.match(/maintenance in progress/);
  });
});
