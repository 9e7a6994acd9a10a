/** routing-controllers adapters (the only file loading routing-controllers): `@ForceMaintenance` and the controller. */
import type { ParameterizedContext } from 'koa';
import { loadPeer } from '../core/peer.js';
import type { MaintenanceApiOptions } from '../koa/api/options.js';
import { apiParts } from '../koa/api/routes.js';
import { type ForcedMode, forcedMiddleware, forceMaintenance } from '../koa/force.js';
import { createToggleHandlers } from '../koa/toggle-handlers.js';
import { statusPageRenderer, toggleOffMarker } from '../koa/toggle-routes.js';
import { type MaintenanceRoutesOptions, resolveRoutesOptions } from '../koa/toggle-rules.js';
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
  const { Controller, Ctx, Get, Post, UseBefore } = rc('createMaintenanceController()');
  const h = createToggleHandlers(config, statusPageRenderer());

  class MaintenanceModeController {
    async on(ctx: ParameterizedContext) {
      await h.on(ctx);
      return ctx; // routing-controllers leaves a returned context untouched
    }
    async off(ctx: ParameterizedContext) {
      await h.off(ctx);
      return ctx;
    }
    async status(ctx: ParameterizedContext) {
      await h.status(ctx);
      return ctx;
    }
    async page(ctx: ParameterizedContext) {
      await h.page(ctx);
      return ctx;
    }
    async publicStatus(ctx: ParameterizedContext) {
      await h.publicStatus(ctx);
      return ctx;
    }
  }
  const proto = MaintenanceModeController.prototype;
  type Deco = (target: object, key?: string, indexOrDescriptor?: unknown) => void;
  const apply = (key: 'on' | 'off' | 'status' | 'page' | 'publicStatus', ...decorators: unknown[]) => {
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    for (const d of decorators) (d as Deco)(proto, key, descriptor);
    (Ctx() as Deco)(proto, key, 0);
  };
  apply('on', Get('/on'), Post('/on'), UseBefore(forceMaintenance('off')));
  apply('off', Get('/off'), Post('/off'), UseBefore(toggleOffMarker()));
  apply('status', Get('/status'), UseBefore(forceMaintenance('off')));
  apply('page', Get('/'), UseBefore(forceMaintenance('off')));
  if (config.publicStatus) apply('publicStatus', Get('/public.json'), UseBefore(forceMaintenance('off')));
  (Controller(config.prefix) as (t: object) => void)(MaintenanceModeController);
  registerService(MaintenanceModeController);
  return MaintenanceModeController;
}

/**
 * The control API (`maintenanceApi()`) as a routing-controllers controller class, for apps that register controllers
 * only: `useKoaServer(app, { controllers: [createMaintenanceApiController()] })`. Same routes, auth and answers.
 */
export function createMaintenanceApiController(options?: MaintenanceApiOptions): new () => object {
  const { config, handlers } = apiParts(options);
  const deco = rc('createMaintenanceApiController()');
  const { Controller, Ctx, UseBefore } = deco;
  const verbs = { get: deco.Get, post: deco.Post, delete: deco.Delete } as const;
  class MaintenanceApiController {}
  const proto = MaintenanceApiController.prototype as unknown as Record<string, unknown>;
  type Deco = (target: object, key?: string, indexOrDescriptor?: unknown) => void;
  const add = (key: string, handle: (ctx: ParameterizedContext) => Promise<void>, ...decorators: unknown[]) => {
    proto[key] = async (ctx: ParameterizedContext) => {
      await handle(ctx);
      return ctx; // routing-controllers leaves a returned context untouched
    };
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    for (const d of decorators) (d as Deco)(proto, key, descriptor);
    (Ctx() as Deco)(proto, key, 0);
  };
  for (const { route, handle } of handlers) {
    const pass = route.handler === 'off' ? toggleOffMarker() : forceMaintenance('off');
    add(`${route.method}_${route.handler}`, handle, verbs[route.method](route.path), UseBefore(pass));
  }
  (Controller(config.prefix) as (t: object) => void)(MaintenanceApiController);
  registerService(MaintenanceApiController);
  return MaintenanceApiController;
}
