/** routing-controllers adapters (the only file loading routing-controllers): `@ForceMaintenance` and the controller. */
import type { ParameterizedContext } from 'koa';
import { loadPeer } from '../core/peer.js';
import type { MaintenanceApiOptions } from '../koa/api/options.js';
import { apiParts } from '../koa/api/routes.js';
import { type ForcedMode, forcedMiddleware } from '../koa/force.js';
import { createToggleHandlers } from '../koa/toggle-handlers.js';
import { passFor, statusPageRenderer } from '../koa/toggle-routes.js';
import { type MaintenanceRoutesOptions, resolveRoutesOptions } from '../koa/toggle-rules.js';
import { toggleRoutesOf } from '../koa/toggle-table.js';
import { registerService } from '../service/service.js';

type RC = typeof import('routing-controllers');
const rc = (feature: string): RC =>
  loadPeer(() => require('routing-controllers') as RC, 'routing-controllers', feature);

/** Metadata key under which `@ForceMaintenance` records its mode (for introspection). */
export const FORCE_MAINTENANCE_METADATA = 'koa-maintenance-mode:force';

/**
 * Forces maintenance for a routing-controllers action (method decorator) or every action of a controller (class
 * decorator); a method's own decorator overrides its class's. `'off'` actions are served during maintenance,
 * `'on'` actions always answer with the maintenance response. Mount `maintenance()` before `useKoaServer()`.
 * @example
 * ⁣@JsonController('/health') class Health { ⁣@Get('/') ⁣@ForceMaintenance('off') check() { return { ok: true }; } }
 */
export function ForceMaintenance(mode: ForcedMode): ClassDecorator & MethodDecorator {
  const { UseBefore } = rc('@ForceMaintenance');
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const classLevel = key === undefined;
    const use = UseBefore(forcedMiddleware(mode, classLevel, '@ForceMaintenance(mode)')) as (
      t: object,
      k?: string | symbol,
      d?: PropertyDescriptor,
    ) => void;
    if (classLevel) Reflect.defineMetadata(FORCE_MAINTENANCE_METADATA, mode, target);
    else Reflect.defineMetadata(FORCE_MAINTENANCE_METADATA, mode, target, key);
    use(target, key, descriptor);
  }) as ClassDecorator & MethodDecorator;
}

/**
 * The toggle and status routes as a routing-controllers controller class, for apps that register controllers
 * only: `useKoaServer(app, { controllers: [createMaintenanceController()] })`. Same behaviour as `maintenanceRoutes()`.
 */
export function createMaintenanceController(options?: MaintenanceRoutesOptions): new () => object {
  const config = resolveRoutesOptions(options);
  const h = createToggleHandlers(config, statusPageRenderer());
  const routes = toggleRoutesOf(config, h).map((r) => ({
    ...r,
    key: `${r.method}_${r.handler}`,
    pass: passFor(r.pass === 'off-marker'),
  }));
  return controllerOf('createMaintenanceController()', config.prefix, 'MaintenanceModeController', routes);
}

/** A route of a controller made by {@link controllerOf}. */
interface ControllerRoute {
  readonly key: string;
  readonly method: 'get' | 'post' | 'delete';
  readonly path: string;
  readonly pass: unknown;
  readonly handle: (ctx: ParameterizedContext) => Promise<void>;
}

/** A routing-controllers controller class named `name` serving `routes` under `prefix`, registered with TypeDI. */
function controllerOf(
  feature: string,
  prefix: string,
  name: string,
  routes: readonly ControllerRoute[],
): new () => object {
  const deco = rc(feature);
  const verbs = { get: deco.Get, post: deco.Post, delete: deco.Delete } as const;
  const made = { [name]: class {} }[name] as new () => object;
  const proto = made.prototype as Record<string, unknown>;
  type Deco = (target: object, key?: string, indexOrDescriptor?: unknown) => void;
  for (const r of routes) {
    proto[r.key] = async (ctx: ParameterizedContext) => {
      await r.handle(ctx);
      return ctx; // routing-controllers leaves a returned context untouched
    };
    const descriptor = Object.getOwnPropertyDescriptor(proto, r.key);
    for (const d of [verbs[r.method](r.path), deco.UseBefore(r.pass as never)]) (d as Deco)(proto, r.key, descriptor);
    (deco.Ctx() as Deco)(proto, r.key, 0);
  }
  (deco.Controller(prefix) as (t: object) => void)(made);
  registerService(made);
  return made;
}

/**
 * The control API (`maintenanceApi()`) as a routing-controllers controller class, for apps that register controllers
 * only: `useKoaServer(app, { controllers: [createMaintenanceApiController()] })`. Same routes, auth and answers.
 */
export function createMaintenanceApiController(options?: MaintenanceApiOptions): new () => object {
  const { config, handlers } = apiParts(options);
  const routes = handlers.map(({ route, handle }) => ({
    key: `${route.method}_${route.handler}`,
    method: route.method,
    path: route.path,
    pass: passFor(route.handler === 'off'),
    handle,
  }));
  return controllerOf('createMaintenanceApiController()', config.prefix, 'MaintenanceApiController', routes);
}
