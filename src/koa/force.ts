/**
 * Route-level forcing: `forceMaintenance('on' | 'off')` tags a route's middleware, and `routeFacts(ctx)` finds
 * the tag before routing by asking every @koa/router mounted on the app which layers would handle the request
 * (the app-level `maintenance()` runs before the routers, so it must look ahead to serve `'off'` routes).
 */
import type { Middleware, ParameterizedContext } from 'koa';
import { neverCache, PLAIN_TEXT_BODY } from './respond.js';

/** Mode a route forces. */
export type ForcedMode = 'on' | 'off';

/** Property carrying the forced mode on a tagged middleware. */
export const FORCE = Symbol.for('koa-maintenance-mode.force');
/** Property marking the toggle routes' `off` handler. */
export const TOGGLE_OFF = Symbol.for('koa-maintenance-mode.toggle-off');
/** Property saying how specific a tag is: a class-level tag (0) yields to a route or method tag (1). */
export const FORCE_LEVEL = Symbol.for('koa-maintenance-mode.force-level');

type Tagged = Middleware & { [FORCE]?: ForcedMode; [TOGGLE_OFF]?: boolean; [FORCE_LEVEL]?: number };

interface LayerLike {
  readonly methods: readonly string[];
  readonly stack: readonly Tagged[];
}
interface RouterLike {
  match(path: string, method: string): { pathAndMethod: readonly LayerLike[]; route: boolean };
}

/** What the matched route says about maintenance. */
export interface RouteFacts {
  readonly forced?: ForcedMode;
  readonly isToggleOffRoute: boolean;
}

const NONE: RouteFacts = Object.freeze({ isToggleOffRoute: false });
let tagged = 0;

/** Answers the request with the maintenance response of the enclosing `maintenance()`; set per request. */
export const fallbackResponders = new WeakMap<object, () => Promise<void>>();

/** Whether any route was ever tagged; when none was, the look-ahead is skipped entirely. */
export function hasTaggedRoutes(): boolean {
  return tagged > 0;
}

/** Marks `mw` so the look-ahead recognises it (used by the toggle routes). */
export function tagMiddleware<T extends Middleware>(
  mw: T,
  tag: { force?: ForcedMode; toggleOff?: boolean; classLevel?: boolean },
): T {
  const t = mw as Tagged;
  if (tag.force) t[FORCE] = tag.force;
  t[FORCE_LEVEL] = tag.classLevel ? 0 : 1;
  if (tag.toggleOff) t[TOGGLE_OFF] = true;
  tagged++;
  return mw;
}

/**
 * Koa middleware for one @koa/router route: `'off'` serves it even during maintenance, `'on'` always answers
 * with the maintenance response. Mount `maintenance()` on the same app; routers inside mounted sub-apps are not
 * seen before routing, so there only `'on'` works (this middleware answers itself).
 * @example router.get('/healthz', forceMaintenance('off'), (ctx) => { ctx.body = 'ok'; });
 */
export function forceMaintenance(mode: ForcedMode): Middleware {
  return forcedMiddleware(mode, false, 'forceMaintenance(mode)');
}

/** The tagged middleware behind `forceMaintenance` and `@ForceMaintenance` (class-level tags yield to method tags). */
export function forcedMiddleware(mode: ForcedMode, classLevel: boolean, caller: string): Middleware {
  if (mode !== 'on' && mode !== 'off') {
    throw new TypeError(`${caller} takes 'on' or 'off'; received ${JSON.stringify(mode)}.`);
  }
  const mw: Middleware = async function forceMaintenanceMiddleware(ctx, next) {
    if (mode === 'off') return next();
    // Reached only when the look-ahead did not see this route (e.g. a router inside a mounted sub-app).
    const respond = fallbackResponders.get(ctx);
    if (respond) return respond();
    ctx.status = 503;
    neverCache(ctx);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = PLAIN_TEXT_BODY;
  };
  return tagMiddleware(mw, { force: mode, classLevel });
}

const routerCache = new WeakMap<object, { length: number; routers: RouterLike[] }>();

function routersOf(app: { middleware: readonly unknown[] }): RouterLike[] {
  const cached = routerCache.get(app);
  if (cached && cached.length === app.middleware.length) return cached.routers;
  const routers = app.middleware
    .map((fn) => (fn as { router?: RouterLike }).router)
    .filter((r): r is RouterLike => typeof r?.match === 'function');
  routerCache.set(app, { length: app.middleware.length, routers });
  return routers;
}

/** Reads the tags of the route that will handle `ctx`; a route's own tag overrides its router's. */
export function routeFacts(ctx: ParameterizedContext): RouteFacts {
  if (!hasTaggedRoutes()) return NONE;
  for (const router of routersOf(ctx.app as unknown as { middleware: readonly unknown[] })) {
    const match = router.match(ctx.path, ctx.method);
    if (!match.route) continue;
    let forced: ForcedMode | undefined;
    let toggleOff = false;
    for (const layer of match.pathAndMethod) {
      let layerMode: ForcedMode | undefined;
      let level = -1;
      for (const fn of layer.stack) {
        const mode = fn[FORCE];
        if (mode && (fn[FORCE_LEVEL] ?? 1) >= level) {
          layerMode = mode;
          level = fn[FORCE_LEVEL] ?? 1;
        }
        toggleOff ||= fn[TOGGLE_OFF] === true;
      }
      forced = layerMode ?? forced;
      if (layer.methods.length > 0) break; // the first route layer handles the request
    }
    return { forced, isToggleOffRoute: toggleOff };
  }
  return NONE;
}
