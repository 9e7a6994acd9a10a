/** The demo app: a few pages, a JSON API, a health route, and maintenance() on the embedded file store. */
import Router from '@koa/router';
import Koa from 'koa';
import { forceMaintenance, type MaintenanceService, maintenance } from '../../src/index.js';

const page = (title: string, body: string, maintenanceMode: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Demo shop</title>
<style>body{font:1rem/1.6 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}nav a{margin-right:1rem}</style>
</head><body><nav><a href="/">Home</a><a href="/about">About</a><a href="/api/products">API</a><a href="/healthz">Health</a></nav>
<h1>${title}</h1>${body}<p><small>maintenanceMode: ${maintenanceMode}</small></p></body></html>`;

/** Builds the demo Koa app. Pass a service to use another store; by default the container's (file store). */
export function createDemoApp(options: { service?: MaintenanceService } = {}): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = page(
      'Welcome',
      '<p>This is a small shop. Put it into maintenance and reload.</p>',
      ctx.state.maintenanceMode,
    );
  });
  router.get('/about', (ctx) => {
    ctx.body = page('About', '<p>koa-maintenance-mode demo.</p>', ctx.state.maintenanceMode);
  });
  router.get('/api/products', (ctx) => {
    ctx.body = [
      { id: 1, name: 'Teapot' },
      { id: 2, name: 'Cup' },
    ];
  });
  // Load balancers keep checking this route during maintenance, so it is forced off.
  router.get('/healthz', forceMaintenance('off'), (ctx) => {
    ctx.body = { ok: true };
  });

  app.use(
    maintenance({
      service: options.service,
      // Browsers get the page, the API gets JSON.
      responseType: (ctx) => (ctx.path.startsWith('/api/') ? 'json' : 'html'),
      retryAfter: 600,
    }),
  );
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
