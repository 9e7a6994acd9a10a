/**
 * The demo app: a Koa shop with routing-controllers + TypeDI, a session login for a demo superuser, a few pages, a
 * JSON API, health routes, maintenance() on the embedded file store, the toggle routes with their status page, and a
 * checkout that can be taken down on its own (the scope `checkout`) while the rest of the shop stays up.
 */
import 'reflect-metadata';
import Router from '@koa/router';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { Get, JsonController, useContainer, useKoaServer } from 'routing-controllers';
import { Container, Service } from 'typedi';
import {
  ForceMaintenance,
  MaintenanceService,
  maintenance,
  maintenanceApi,
  maintenanceBanner,
  maintenanceRoutes,
} from '../../src/index.js';

/** The demo's only account: a superuser who may switch maintenance. */
export const DEMO_USER = Object.freeze({ username: 'demo', password: 'demo' });

@Service()
@JsonController('/api')
export class ShopApiController {
  constructor(private readonly maintenanceService: MaintenanceService) {}

  @Get('/products')
  products() {
    return [
      { id: 1, name: 'Teapot', price: 24 },
      { id: 2, name: 'Cup', price: 6 },
    ];
  }

  /** Served during maintenance, and tells whether maintenance is on (injected service). */
  @Get('/health')
  @ForceMaintenance('off')
  async health() {
    return { ok: true, maintenance: await this.maintenanceService.isEnabled() };
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(ctx: Koa.Context, title: string, body: string): string {
  const user = ctx.state.user as { username: string } | undefined;
  const account = user
    ? `Signed in as <strong>${escapeHtml(user.username)}</strong> (superuser) · <a href="/maintenance-mode/">Maintenance status</a>
       <form method="post" action="/logout" class="inline"><button type="submit">Sign out</button></form>`
    : '<a href="/login">Sign in</a>';
  const scope = (ctx.state.maintenanceDecision as { scope?: string } | undefined)?.scope;
  const what = scope ? `Maintenance mode is on for ${escapeHtml(scope)}` : 'Maintenance mode is on';
  const banner = ctx.state.maintenanceMode
    ? `<p class="banner" role="status">${what}: visitors see the maintenance page there, you see the site.</p>`
    : maintenanceBanner(ctx.state); // a window scheduled within the hour, announced to everyone (live: it comes and goes)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>${escapeHtml(title)} · Demo shop</title>
<style>
body{font:1rem/1.6 system-ui,sans-serif;max-width:44rem;margin:0 auto;padding:1rem;color:#1d2330}
header{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap;align-items:center;border-bottom:1px solid #e3e6ec;padding-bottom:.75rem}
nav a{margin-right:1rem}.inline{display:inline}.banner{background:#fef3f2;color:#b42318;padding:.6rem .8rem;border-radius:.4rem}
input{font:inherit;padding:.4rem}button{font:inherit;cursor:pointer}
.login{display:grid;grid-template-columns:max-content minmax(0,16rem);gap:.6rem 1rem;align-items:center}
.login button{grid-column:2;justify-self:start}
</style></head><body>
<header><nav><a href="/">Home</a><a href="/about">About</a><a href="/checkout">Checkout</a><a href="/api/products">API</a></nav><div>${account}</div></header>
${banner}<main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** Builds the demo app. Pass a service to use another store; by default the container's (file store). */
export function createDemoApp(options: { service?: MaintenanceService } = {}): Koa {
  const service = options.service ?? Container.get(MaintenanceService);
  Container.set(MaintenanceService, service); // controllers get the same service by injection
  useContainer(Container, { fallbackOnErrors: true }); // controllers without @Service() keep working

  const app = new Koa();
  app.keys = [process.env.DEMO_SIGNING_KEY ?? 'demo-only-signing-key-change-me'];

  // The demo's session: a signed cookie naming the signed-in user.
  app.use(async (ctx, next) => {
    if (ctx.cookies.get('demo_user', { signed: true }) === DEMO_USER.username) {
      ctx.state.user = { username: DEMO_USER.username, isStaff: true, isSuperuser: true };
    }
    await next();
  });
  app.use(bodyParser());
  app.use(
    maintenance({
      service,
      ignoreSuperuser: true, // the demo superuser keeps using the site during maintenance
      ignoreUrls: ['/login', '/logout'], // so the superuser can sign in to switch it off
      healthPaths: true, // /healthz and /readyz keep answering for the load balancer
      responseType: (ctx) => (ctx.path.startsWith('/api/') ? 'json' : 'html'),
      retryAfter: 600,
      announceBeforeSeconds: 3600, // pages show a banner for a window that starts within the hour
    }),
  );

  const router = new Router();
  router.get('/', (ctx) => {
    ctx.body = page(
      ctx,
      'Welcome to the demo shop',
      `<p>Tea things since 2026. Sign in as <code>demo</code> / <code>demo</code>, open the
       <a href="/maintenance-mode/">maintenance status page</a> and switch maintenance on; then open this page in a
       private window to see what visitors see.</p>`,
    );
  });
  router.get('/about', (ctx) => {
    ctx.body = page(ctx, 'About', '<p>This shop demonstrates koa-maintenance-mode.</p>');
  });
  router.get('/login', (ctx) => {
    const failed = ctx.query.failed ? '<p role="alert">Wrong username or password.</p>' : '';
    ctx.body = page(
      ctx,
      'Sign in',
      `${failed}<form method="post" action="/login" class="login">
        <label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
        <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit" id="sign-in">Sign in</button></form>`,
    );
  });
  router.post('/login', (ctx) => {
    const body = (ctx.request.body ?? {}) as { username?: string; password?: string };
    if (body.username === DEMO_USER.username && body.password === DEMO_USER.password) {
      ctx.cookies.set('demo_user', DEMO_USER.username, { signed: true, httpOnly: true, sameSite: 'lax' });
      ctx.redirect('/');
    } else ctx.redirect('/login?failed=1');
  });
  router.post('/logout', (ctx) => {
    ctx.cookies.set('demo_user', null, { signed: true });
    ctx.redirect('/');
  });

  // The checkout is its own scope: `maintenance-mode on --scope checkout` takes it down, the shop stays up.
  const checkout = new Router({ prefix: '/checkout' });
  checkout.use(maintenance({ service, scope: 'checkout', ignoreSuperuser: true, retryAfter: 600 }));
  checkout.get('/', (ctx) => {
    ctx.body = page(ctx, 'Checkout', '<p>Your basket: one teapot (24 €). <button type="button">Pay</button></p>');
  });

  app.use(maintenanceRoutes({ service, publicStatus: true }).routes());
  // The control API for pipelines (README "From a pipeline"): npm start prints a token for it.
  app.use(maintenanceApi({ service }).routes());
  app.use(checkout.routes());
  app.use(router.routes());
  app.use(router.allowedMethods());
  useKoaServer(app, { controllers: [ShopApiController] });
  return app;
}
