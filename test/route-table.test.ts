import 'reflect-metadata';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { getMetadataArgsStorage, useContainer, useKoaServer } from 'routing-controllers';
import supertest from 'supertest';
import { Container } from 'typedi';
import { createMaintenanceController, MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';
import { captureLogger, userFromHeader } from './helpers/app.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });
const PREFIX = '/maintenance-mode';

/** A service with a window and a scope in maintenance, so the status page shows every form it has. */
async function busyService(): Promise<MaintenanceService> {
  const service = new MaintenanceService({ store: new Keyv(), logger: captureLogger() });
  await service.addWindow({ id: 'nightly', rrule: 'FREQ=DAILY', tz: 'UTC', start: '03:00', durationMinutes: 5 });
  await service.enable({ scope: 'billing' });
  return service;
}

/** The forms of an HTML page: method and action (entities decoded). */
function formsOf(html: string): Array<{ method: string; action: string }> {
  return [...html.matchAll(/<form\b[^>]*>/g)].map(([tag]) => ({
    method: (/method="([^"]*)"/.exec(tag)?.[1] ?? 'get').toLowerCase(),
    action: (/action="([^"]*)"/.exec(tag)?.[1] ?? '').replace(/&amp;/g, '&'),
  }));
}

describe('toggle routes: one table for @koa/router and routing-controllers', () => {
  afterEach(() => Container.reset());

  it('registers the same routes with maintenanceRoutes() and createMaintenanceController()', () => {
    for (const publicStatus of [false, true]) {
      const router = maintenanceRoutes({ service: new MaintenanceService({ store: new Keyv() }), publicStatus });
      const koaRoutes = router.stack.flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${layer.path}`),
      );
      const controller = createMaintenanceController({ publicStatus });
      const rcRoutes = getMetadataArgsStorage()
        .actions.filter((a) => a.target === controller)
        .map((a) => `${a.type.toUpperCase()} ${PREFIX}${a.route === '/' ? '' : a.route}`);
      const normal = (routes: string[]) => routes.map((r) => r.replace(/\/$/, '')).sort();
      expect(normal(rcRoutes), `publicStatus ${publicStatus}`).to.deep.equal(normal(koaRoutes));
      // live.js always (the status page's script); public.json, windows.ics and events with publicStatus.
      expect(koaRoutes.length).to.equal(publicStatus ? 12 : 9);
    }
  });

  for (const kind of ['@koa/router', 'routing-controllers'] as const) {
    it(`answers every form of the status page with a route that exists (${kind})`, async () => {
      const service = await busyService();
      const app = new Koa();
      app.silent = true;
      app.use(userFromHeader);
      if (kind === '@koa/router') {
        app.use(bodyParser());
        app.use(maintenanceRoutes({ service, publicStatus: true }).routes());
        app.use(maintenance({ service }));
      } else {
        useContainer(Container);
        app.use(maintenance({ service }));
        useKoaServer(app, { controllers: [createMaintenanceController({ service, publicStatus: true })] });
      }
      const request = supertest(app.callback());
      const page = await request.get(`${PREFIX}/`).set('x-user', ALICE).expect(200);
      const forms = formsOf(page.text);
      expect(forms.map((f) => f.action.split('?')[0])).to.include.members([
        `${PREFIX}/on`,
        `${PREFIX}/off`,
        `${PREFIX}/windows`,
        `${PREFIX}/windows/nightly/remove`,
      ]);
      for (const form of forms) {
        const res = await request[form.method as 'post'](form.action).set('x-user', ALICE).type('form').send({});
        expect([404, 405], `${form.method} ${form.action}: ${res.status}`).to.not.include(res.status);
      }
      for (const path of ['/public.json', '/windows.ics', '/status', '/live.js']) {
        await request.get(`${PREFIX}${path}`).set('x-user', ALICE).expect(200);
      }
      await service.close();
    });
  }
});
