import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import { Container } from 'typedi';
import {
  MaintenanceError,
  MaintenanceService,
  MESSAGE_MAX_LENGTH,
  maintenance,
  maintenanceRoutes,
} from '../src/index.js';
import { captureLogger, inSeconds, memoryService, unreadableKeyv, userFromHeader } from './helpers/app.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });
const BOB = JSON.stringify({ username: 'bob', isStaff: true });

function toggleApp(routesOptions: Parameters<typeof maintenanceRoutes>[0] = {}, service = memoryService()) {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  app.use(maintenance({ service }));
  app.use(maintenanceRoutes({ service, ...routesOptions }).routes());
  app.use((ctx) => {
    ctx.body = 'page';
  });
  return { service, request: () => supertest(app.callback()) };
}

describe('maintenanceRoutes(): switching', () => {
  it('lets a superuser switch on with GET and records who and when, then redirects to /', async () => {
    const t = toggleApp();
    const before = Date.now();
    const r = await t.request().get('/maintenance-mode/on').set('x-user', ALICE).expect(302);
    expect(r.headers.location).to.equal('/');
    const state = await t.service.getState();
    expect(state).to.include({ enabled: true, updatedBy: 'alice' });
    expect(Date.parse(state.updatedAt as string)).to.be.at.least(before - 1);
    await t.request().get('/').expect(503);
  });

  it('lets a superuser switch off with POST during maintenance (the off URL is always reachable)', async () => {
    const t = toggleApp();
    await t.service.enable();
    const r = await t.request().post('/maintenance-mode/off').set('x-user', ALICE).expect(302);
    expect(r.headers.location).to.equal('/');
    expect(await t.service.isEnabled()).to.equal(false);
    expect((await t.service.getState()).updatedBy).to.equal('alice');
  });

  it('redirects to a same-origin next path, and to / for anything else (no open redirect)', async () => {
    const t = toggleApp();
    const ok = await t.request().get('/maintenance-mode/on?next=/admin/dashboard%3Ftab%3D2').set('x-user', ALICE);
    expect(ok.headers.location).to.equal('/admin/dashboard?tab=2');
    const cases: Array<[string, string]> = [
      ['//evil.example/x', '/'],
      ['https://evil.example/', '/'],
      ['/\\evil.example', '/'],
      ['javascript:alert(1)', '/'],
      ['/\r\nSet-Cookie: x=1', '/'],
      ['/%0d%0aSet-Cookie:x', '/%0d%0aSet-Cookie:x'],
    ];
    for (const [next, location] of cases) {
      const r = await t
        .request()
        .get(`/maintenance-mode/off?next=${encodeURIComponent(next)}`)
        .set('x-user', ALICE)
        .expect(302);
      expect(r.headers.location, next).to.equal(location);
      expect(r.headers['set-cookie']).to.equal(undefined);
    }
  });

  it('answers JSON clients with the new status instead of a redirect', async () => {
    const t = toggleApp();
    const r = await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Accept', 'application/json')
      .expect(200);
    expect(r.body).to.include({ enabled: true, active: true, updatedBy: 'alice', message: null });
  });

  it('keeps the message and schedule when switching on while already on', async () => {
    const t = toggleApp();
    await t.service.enable({ message: 'DB upgrade', end: inSeconds(600), by: 'ops' });
    await t.request().get('/maintenance-mode/on').set('x-user', ALICE).expect(302);
    expect(await t.service.getState()).to.include({ message: 'DB upgrade', updatedBy: 'ops' });
  });

  it('switches on at once when maintenance is only scheduled for later', async () => {
    const t = toggleApp();
    await t.service.enable({ start: inSeconds(600) });
    await t.request().get('/maintenance-mode/on').set('x-user', ALICE).expect(302);
    expect(await t.service.isEnabled()).to.equal(true);
  });

  it('never changes the state on HEAD', async () => {
    const t = toggleApp();
    await t.request().head('/maintenance-mode/on').set('x-user', ALICE).expect(204);
    expect(await t.service.isEnabled()).to.equal(false);
  });

  it('uses getUpdatedBy when given', async () => {
    const t = toggleApp({ getUpdatedBy: (ctx) => `sso:${ctx.get('x-sso')}` });
    await t.request().get('/maintenance-mode/on').set('x-user', ALICE).set('x-sso', 'a1').expect(302);
    expect((await t.service.getState()).updatedBy).to.equal('sso:a1');
  });

  it('records a name people can read as updatedBy: username, else name, else email, else user:<id>, never a bare id', async () => {
    const t = toggleApp();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ id: 42, username: 'alice', name: 'Alice Liddell', email: 'alice@example.com' }, 'alice'],
      [{ id: 42, name: 'Alice Liddell', email: 'alice@example.com' }, 'Alice Liddell'],
      [{ id: 42, email: 'alice@example.com' }, 'alice@example.com'],
      [{ id: 42 }, 'user:42'],
      [{ id: 'u-7f3a', username: '' }, 'user:u-7f3a'],
    ];
    for (const [user, by] of cases) {
      const x = JSON.stringify({ ...user, isSuperuser: true });
      await t.request().post('/maintenance-mode/on').set('x-user', x).expect(302);
      await t.request().post('/maintenance-mode/off').set('x-user', x).expect(302);
      expect((await t.service.getState()).updatedBy, JSON.stringify(user)).to.equal(by);
    }
  });
});

describe('maintenanceRoutes(): what a switch keeps and what it overwrites', () => {
  it("revokes the window's bypass secret with a plain switch on, as the CLI does", async () => {
    const t = toggleApp();
    const made = await t
      .request()
      .post('/maintenance-mode/on?bypass=on')
      .set('x-user', ALICE)
      .set('Accept', 'application/json')
      .expect(200);
    expect(made.body.bypass).to.equal(true);
    await t.request().get('/').set('x-maintenance-bypass', made.body.bypassPath.slice(1)).expect(200);
    const again = await t.request().post('/maintenance-mode/on').set('x-user', ALICE).set('Accept', 'application/json');
    expect(again.body).to.include({ active: true, bypass: false });
    await t.request().get('/').set('x-maintenance-bypass', made.body.bypassPath.slice(1)).expect(503);
  });

  it('shows a corrupt stored state on the status page and overwrites it with a switch, recording it as unreadable', async () => {
    const keyv = new Keyv();
    await keyv.set('maintenance_mode_state', { enabled: 'maybe' });
    const t = toggleApp({}, new MaintenanceService({ store: keyv, logger: captureLogger() }));
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text)
      .to.include('The stored state is unreadable')
      .and.include('&quot;enabled&quot; must be true or false');
    await t.request().post('/maintenance-mode/off').set('x-user', ALICE).expect(302);
    expect(await t.service.getStoredState()).to.include({ enabled: false, updatedBy: 'alice' });
    expect((await t.service.history(1))[0]).to.include({ from: 'unreadable', to: 'off', source: 'routes' });
  });
});

describe('maintenanceRoutes(): who may switch', () => {
  it('answers 403 to staff, anonymous users and users without isSuperuser, and changes nothing', async () => {
    const t = toggleApp();
    for (const user of [BOB, undefined, '{"isSuperuser":"yes"}']) {
      const req = t.request().get('/maintenance-mode/on');
      if (user) req.set('x-user', user);
      const r = await req.expect(403);
      expect(r.text).to.match(/Only superusers/);
    }
    expect(await t.service.isEnabled()).to.equal(false);
  });

  it('answers 403 JSON to JSON clients', async () => {
    const t = toggleApp();
    const r = await t.request().post('/maintenance-mode/on').set('Accept', 'application/json').expect(403);
    expect(r.body).to.deep.equal({
      error: 'forbidden',
      message: 'Only superusers can switch maintenance mode. Sign in as a superuser first.',
    });
  });

  it('uses isSuperuser (sync or async) when given', async () => {
    const t = toggleApp({ isSuperuser: async (ctx) => ctx.get('x-role') === 'admin' });
    await t.request().get('/maintenance-mode/on').set('x-role', 'admin').expect(302);
    await t.request().get('/maintenance-mode/off').set('x-user', ALICE).expect(403);
  });

  it('refuses cross-site requests even from a superuser (CSRF)', async () => {
    const t = toggleApp();
    await t.request().get('/maintenance-mode/on').set('x-user', ALICE).set('Sec-Fetch-Site', 'cross-site').expect(403);
    const r = await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Origin', 'https://evil.example')
      .expect(403);
    expect(r.text).to.match(/Cross-site requests/);
    await t.request().post('/maintenance-mode/on').set('x-user', ALICE).set('Origin', 'null').expect(403);
    expect(await t.service.isEnabled()).to.equal(false);
  });

  it("refuses a same-site request with neither Origin nor Referer (a sibling subdomain's <img referrerpolicy=no-referrer>)", async () => {
    const t = toggleApp();
    for (const site of ['same-site', 'cross-site', 'something-new']) {
      const r = await t
        .request()
        .get('/maintenance-mode/on?dryRun=on')
        .set('x-user', ALICE)
        .set('Sec-Fetch-Site', site)
        .expect(403);
      expect(r.text, site).to.match(/Cross-site requests/);
    }
    expect((await t.service.getStoredState()).enabled).to.equal(false);
  });

  it('refuses a GET carrying a foreign Referer but neither Origin nor Sec-Fetch-Site (a link on another site)', async () => {
    const t = toggleApp();
    await t.service.enable();
    for (const referer of ['https://evil.example/page', 'http://127.0.0.1.evil.example/', 'not a url']) {
      const r = await t.request().get('/maintenance-mode/off').set('x-user', ALICE).set('Referer', referer).expect(403);
      expect(r.text, referer).to.match(/Cross-site requests/);
    }
    await t
      .request()
      .get('/maintenance-mode/status')
      .set('x-user', ALICE)
      .set('Referer', 'https://evil.example/')
      .expect(403);
    await t
      .request()
      .get('/maintenance-mode/')
      .set('x-user', ALICE)
      .set('Referer', 'https://evil.example/')
      .expect(403);
    expect(await t.service.isEnabled()).to.equal(true);
  });

  it('accepts a Referer from this site, and superuser requests without any of the three headers (scripts, curl)', async () => {
    const t = toggleApp();
    await t
      .request()
      .get('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Host', 'shop.example')
      .set('Referer', 'http://shop.example/maintenance-mode/')
      .expect(302);
    expect(await t.service.isEnabled()).to.equal(true);
    await t.request().get('/maintenance-mode/off').set('x-user', ALICE).expect(302);
    expect(await t.service.isEnabled()).to.equal(false);
  });

  it('accepts same-origin and user-initiated (none) requests, and an Origin equal to this site', async () => {
    const t = toggleApp();
    await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Sec-Fetch-Site', 'same-origin')
      .expect(302);
    await t.request().post('/maintenance-mode/off').set('x-user', ALICE).set('Sec-Fetch-Site', 'none').expect(302);
    await t
      .request()
      .post('/maintenance-mode/on')
      .set('x-user', ALICE)
      .set('Host', 'shop.example')
      .set('Origin', 'http://shop.example')
      .expect(302);
    expect(await t.service.isEnabled()).to.equal(true);
  });
});

describe('maintenanceRoutes(): status', () => {
  it('answers superusers with the state as JSON, also during maintenance', async () => {
    const t = toggleApp();
    const end = inSeconds(900);
    await t.service.enable({ message: 'Moving racks', end, by: 'ops' });
    const r = await t.request().get('/maintenance-mode/status').set('x-user', ALICE).expect(200);
    expect(r.headers['cache-control']).to.match(/no-store/);
    expect(r.body).to.deep.equal({
      enabled: true,
      active: true,
      start: null,
      end: new Date(end).toISOString(),
      message: 'Moving racks',
      updatedAt: r.body.updatedAt,
      updatedBy: 'ops',
      readOnly: false,
      dryRun: false,
      bypass: false,
      window: null,
      leaseUntil: null,
      leaseLapsed: false,
      auto: null,
      scopes: {},
    });
  });

  it('answers 403 to others', async () => {
    const t = toggleApp();
    await t.request().get('/maintenance-mode/status').set('x-user', BOB).expect(403);
  });
});

describe('maintenanceRoutes(): failures and configuration', () => {
  it('reports a failed write with 503 and leaves the state as it was', async () => {
    const data = new Map<string, unknown>();
    let failWrites = false;
    const keyv = new Keyv({
      store: {
        get: async (k: string) => data.get(k),
        set: async (k: string, v: unknown) => {
          if (failWrites) throw new Error('READONLY replica');
          data.set(k, v);
          return true;
        },
        delete: async () => true,
        clear: async () => undefined,
      } as never,
    });
    const t = toggleApp({}, new MaintenanceService({ store: keyv, logger: captureLogger() }));
    failWrites = true;
    const r = await t.request().post('/maintenance-mode/on').set('x-user', ALICE).expect(503);
    expect(r.text).to.match(/was not switched on: .*READONLY replica/);
    expect(await t.service.isEnabled()).to.equal(false);
  });

  it('does not report "already off" when the store cannot be read', async () => {
    const keyv = unreadableKeyv('ETIMEDOUT');
    const t = toggleApp({}, new MaintenanceService({ store: keyv, fallbackValue: false, logger: captureLogger() }));
    const r = await t
      .request()
      .post('/maintenance-mode/off')
      .set('x-user', ALICE)
      .set('Accept', 'application/json')
      .expect(503);
    expect(r.body).to.include({ error: 'ERR_MAINTENANCE_STORE_READ' });
  });

  it('answers 409 when the state is forced by mode', async () => {
    const t = toggleApp({}, memoryService({ mode: false }));
    const r = await t.request().post('/maintenance-mode/on').set('x-user', ALICE).expect(409);
    expect(r.text).to.match(/forced by the mode option/);
  });

  it('honours a custom prefix', async () => {
    const t = toggleApp({ prefix: '/ops/maintenance/' });
    await t.request().get('/ops/maintenance/on').set('x-user', ALICE).expect(302);
    expect(await t.service.isEnabled()).to.equal(true);
  });

  it('uses the container service when none is given', async () => {
    const service = memoryService();
    Container.set(MaintenanceService, service);
    try {
      const app = new Koa();
      app.use(async (ctx, next) => {
        ctx.state.user = { isSuperuser: true };
        await next();
      });
      app.use(maintenanceRoutes().routes());
      await supertest(app.callback()).get('/maintenance-mode/on').expect(302);
      expect(await service.isEnabled()).to.equal(true);
    } finally {
      Container.reset();
    }
  });

  it('rejects bad options at startup', () => {
    const cases: Array<[object, RegExp]> = [
      [{ prefix: 'maintenance' }, /^prefix must be a path/],
      [{ prefix: '/' }, /^prefix must be a path/],
      [{ isSuperuser: true }, /^isSuperuser must be a function/],
      [{ service: {} }, /^service must be a MaintenanceService/],
      [{ prefx: '/x' }, /Did you mean `prefix`\?/],
    ];
    for (const [options, message] of cases) {
      expect(() => maintenanceRoutes(options as never)).to.throw(MaintenanceError, message);
    }
  });
});

describe('maintenanceRoutes(): the status page', () => {
  it('shows superusers the state, the history and the form that switches it, and refuses others', async () => {
    const t = toggleApp();
    await t.service.enable({ message: 'Disk swap <today>', by: 'ops' });
    const r = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(r.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(r.headers['cache-control']).to.match(/no-store/);
    expect(r.text).to.include('<title>Maintenance mode: on</title>');
    expect(r.text).to.include('Disk swap &lt;today&gt;');
    expect(r.text).to.include('action="/maintenance-mode/off?next=/maintenance-mode/"');
    expect(r.text).to.match(/off → on<br><span class="msg">“Disk swap &lt;today&gt;”<\/span><\/td><td>ops<\/td>/);
    await t.request().get('/maintenance-mode').set('x-user', ALICE).expect(200);
    await t.request().get('/maintenance-mode/').set('x-user', BOB).expect(403);
  });

  it('takes the message from a posted form', async () => {
    const bodyParser = (await import('koa-bodyparser')).default;
    const service = memoryService();
    const app = new Koa();
    app.use(bodyParser());
    app.use(async (ctx, next) => {
      ctx.state.user = { username: 'alice', isSuperuser: true };
      await next();
    });
    app.use(maintenanceRoutes({ service }).routes());
    const r = await supertest(app.callback())
      .post('/maintenance-mode/on?next=/maintenance-mode/')
      .type('form')
      .send({ message: '  Back at noon  ' })
      .expect(302);
    expect(r.headers.location).to.equal('/maintenance-mode/');
    expect(await service.getState()).to.include({ enabled: true, message: 'Back at noon', updatedBy: 'alice' });
  });

  it('refuses a message over the limit with 400 naming it, and the form says the limit', async () => {
    const bodyParser = (await import('koa-bodyparser')).default;
    const service = memoryService();
    const app = new Koa();
    app.use(bodyParser({ formLimit: '2mb' }));
    app.use(async (ctx, next) => {
      ctx.state.user = { username: 'alice', isSuperuser: true };
      await next();
    });
    app.use(maintenanceRoutes({ service }).routes());
    const big = 'm'.repeat(1_000_000);
    const r = await supertest(app.callback())
      .post('/maintenance-mode/on')
      .type('form')
      .send({ message: big })
      .expect(400);
    expect(r.text).to.match(/not switched on: message is 1000000 characters long; the limit is 1000\./);
    const json = await supertest(app.callback())
      .post('/maintenance-mode/on')
      .set('Accept', 'application/json')
      .send({ message: big })
      .expect(400);
    expect(json.body.error).to.equal('ERR_MAINTENANCE_INVALID_SCHEDULE');
    expect(await service.getState()).to.deep.equal({ enabled: false });
    expect(await service.history()).to.deep.equal([]);
    const page = await supertest(app.callback()).get('/maintenance-mode/').expect(200);
    expect(page.text).to.include(`maxlength="${MESSAGE_MAX_LENGTH}"`);
  });
});
