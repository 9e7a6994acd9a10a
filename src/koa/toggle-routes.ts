/** `maintenanceRoutes()`: the toggle and status routes as an @koa/router Router (the only file loading @koa/router). */
import type RouterType from '@koa/router';
import type { Middleware } from 'koa';
import { loadPeer } from '../core/peer.js';
import { forceMaintenance, tagMiddleware } from './force.js';
import { createRenderer } from './render.js';
import { createToggleHandlers } from './toggle-handlers.js';
import { type MaintenanceRoutesOptions, resolveRoutesOptions } from './toggle-rules.js';
import { toggleRoutesOf } from './toggle-table.js';

/** @koa/router's Router class (an optional peer: a clear error naming `feature` when it is not installed). */
export function routerClass(feature: string): typeof RouterType {
  const Router = loadPeer(() => require('@koa/router') as typeof import('@koa/router'), '@koa/router', feature);
  return ((Router as unknown as { default?: typeof RouterType }).default ?? Router) as typeof RouterType;
}

/** The packaged status page template, compiled once. */
export const statusPageRenderer = () => createRenderer({ viewsDir: [], template: 'maintenance-status.html' });

/** Marks the `off` handler so `maintenance()` always lets it through (decision step "toggle routes' off URL"). */
export const toggleOffMarker = (): Middleware => tagMiddleware(async (_ctx, next) => next(), { toggleOff: true });

/**
 * How `maintenance()` lets a route of the toggle routes or the control API through: the `off` URL always (the off
 * marker), every other one as a forced-off route (each handler still checks who asks). Every router and controller
 * that serves those routes takes it from here.
 */
export const passFor = (offUrl: boolean): Middleware => (offUrl ? toggleOffMarker() : forceMaintenance('off'));

/**
 * Routes for superusers: `GET`/`POST` `<prefix>/on` and `<prefix>/off` switch maintenance and redirect to a
 * same-origin `next` (JSON clients get the status), `GET <prefix>/status` answers JSON and `GET <prefix>/` is an HTML
 * status page with the history, the scopes and the forms to switch or plan a window. Non-superusers and
 * cross-site requests get 403 and nothing changes. With `publicStatus`, `GET <prefix>/public.json` answers everyone.
 * All of them stay reachable during maintenance.
 * @example app.use(maintenanceRoutes({ isSuperuser: (ctx) => ctx.state.user?.role === 'admin' }).routes());
 */
export function maintenanceRoutes(options?: MaintenanceRoutesOptions): RouterType {
  const config = resolveRoutesOptions(options);
  const RouterClass = routerClass('maintenanceRoutes()');
  const h = createToggleHandlers(config, statusPageRenderer());
  const router = new RouterClass({ prefix: config.prefix });
  for (const route of toggleRoutesOf(config, h)) {
    router[route.method](route.path, passFor(route.pass === 'off-marker'), route.handle);
  }
  return router;
}
