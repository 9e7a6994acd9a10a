/** `maintenanceApi()`: the control API for pipelines and chat-ops as an @koa/router Router. */
import type RouterType from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { packageVersion } from '../../service/package-version.js';
import { forceMaintenance } from '../force.js';
import { passFor, routerClass } from '../toggle-routes.js';
import { defineDtoRules } from './dto.js';
import { createApiHandlers, unknownRoute } from './handlers.js';
import { openApiDocument } from './openapi.js';
import { type MaintenanceApiConfig, type MaintenanceApiOptions, resolveApiOptions } from './options.js';
import { API_ROUTES } from './spec.js';

/** The API's handlers and its document for one configuration (shared with the routing-controllers controller). */
export function apiParts(options: MaintenanceApiOptions | undefined) {
  const config: MaintenanceApiConfig = resolveApiOptions(options);
  defineDtoRules();
  let document: Record<string, unknown> | undefined;
  const doc = () => {
    document ??= openApiDocument(config.prefix, packageVersion());
    return document;
  };
  return { config, handlers: createApiHandlers(config, doc), document: doc };
}

/** The methods a path below the prefix answers (for 405 and `Allow`). */
export function methodsOf(path: string): string[] {
  const matches = API_ROUTES.filter((r) => new RegExp(`^${r.path.replace(/:\w+/g, '[^/]+')}/?$`).test(path));
  return matches.map((r) => r.method.toUpperCase());
}

/**
 * The path that matches every path below the prefix, in the syntax of the app's @koa/router: `/{*rest}` since
 * @koa/router 13 (path-to-regexp 8), `/(.*)?` before it (path-to-regexp 6), found by trying the newer one.
 */
function catchAllPath(RouterClass: typeof RouterType): string {
  try {
    new RouterClass().all('/{*rest}', () => undefined);
    return '/{*rest}';
  } catch {
    return '/(.*)?'; // the bare prefix too, as `/{*rest}` matches it
  }
}

/**
 * The control API, JSON only: `GET /state`, `POST /on`, `POST /off`, `GET|POST /windows`, `DELETE /windows/:id`,
 * `GET /history`, `GET /fleet`, `POST /wait` and `GET /openapi.json`, under `prefix`. Callers send a token made with
 * `maintenance-mode token create` (`Authorization: Bearer …`), or use a superuser's session from the same site. Every
 * error is an RFC 9457 problem document. The routes stay reachable during maintenance.
 * @example app.use(maintenanceApi().routes());
 */
export function maintenanceApi(options?: MaintenanceApiOptions): RouterType {
  const { config, handlers } = apiParts(options);
  const RouterClass = routerClass('maintenanceApi()');
  const router = new RouterClass({ prefix: config.prefix });
  const served = forceMaintenance('off');
  for (const { route, handle } of handlers) {
    router[route.method](route.path, passFor(route.handler === 'off'), handle);
  }
  router.all(catchAllPath(RouterClass), served, async (ctx: ParameterizedContext) => {
    unknownRoute(ctx, methodsOf(ctx.path.slice(config.prefix.length) || '/'));
  });
  return router;
}
