/**
 * The toggle and status routes as data: one table that `maintenanceRoutes()` (@koa/router) and
 * `createMaintenanceController()` (routing-controllers) are both built from, so the two cannot drift.
 */
import type { ParameterizedContext } from 'koa';
import { registerLiveRoutes } from './live-link.js';
import type { ToggleHandlers } from './toggle-handlers.js';
import type { MaintenanceRoutesConfig } from './toggle-rules.js';

/** One toggle route. */
export interface ToggleRoute {
  readonly method: 'get' | 'post';
  /** Below the prefix. */
  readonly path: string;
  readonly handler: keyof ToggleHandlers;
  /**
   * How `maintenance()` lets it through: `off-marker` (the `off` URL: always), `served` (forced off: superusers manage
   * maintenance during maintenance; every handler still checks who asks).
   */
  readonly pass: 'off-marker' | 'served';
  /** Served only with `publicStatus`. */
  readonly public?: true;
  /** Served only with `live`. */
  readonly live?: true;
}

/** Every toggle route, in the order they are registered. */
export const TOGGLE_ROUTES: readonly ToggleRoute[] = [
  { method: 'get', path: '/on', handler: 'on', pass: 'served' },
  { method: 'post', path: '/on', handler: 'on', pass: 'served' },
  { method: 'get', path: '/off', handler: 'off', pass: 'off-marker' },
  { method: 'post', path: '/off', handler: 'off', pass: 'off-marker' },
  { method: 'get', path: '/status', handler: 'status', pass: 'served' },
  { method: 'post', path: '/windows', handler: 'addWindow', pass: 'served' },
  { method: 'post', path: '/windows/:id/remove', handler: 'removeWindow', pass: 'served' },
  { method: 'get', path: '/', handler: 'page', pass: 'served' },
  { method: 'get', path: '/public.json', handler: 'publicStatus', pass: 'served', public: true },
  { method: 'get', path: '/windows.ics', handler: 'calendar', pass: 'served', public: true },
  { method: 'get', path: '/events', handler: 'events', pass: 'served', live: true },
  { method: 'get', path: '/live.js', handler: 'liveScript', pass: 'served' },
];

/**
 * The routes a configuration serves, each with its handler. Routes with `live` on register their prefix, so pages
 * of `maintenance({ liveReload })` know where to find `/events` and `/live.js`.
 */
export function toggleRoutesOf(
  config: MaintenanceRoutesConfig,
  handlers: ToggleHandlers,
): Array<ToggleRoute & { readonly handle: (ctx: ParameterizedContext) => Promise<void> }> {
  if (config.live) registerLiveRoutes(config.prefix);
  return TOGGLE_ROUTES.filter((r) => (config.publicStatus || !r.public) && (config.live !== false || !r.live)).map(
    (r) => ({
      ...r,
      handle: handlers[r.handler],
    }),
  );
}
