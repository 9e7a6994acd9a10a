/** `maintenance(options)`: the Koa adapter. Reads the state once, gathers facts, calls `decide`, writes the answer. */
import type { Middleware, Next, ParameterizedContext } from 'koa';
import { type Decision, decide, needsUser, type RequestFacts } from './decide.js';
import { fallbackResponders, hasTaggedRoutes, type RouteFacts, routeFacts } from './force.js';
import { normalizeIp } from './ip.js';
import { type MaintenanceConfig, type MaintenanceOptions, type MaintenanceUser, resolveOptions } from './options.js';
import { createRenderer } from './render.js';
import { createResponder, report } from './respond.js';
import { compileRules, normalizePath } from './rules.js';
import { defaultService } from './service.js';
import { isActive, type MaintenanceState } from './state.js';

async function findUser(ctx: ParameterizedContext, config: MaintenanceConfig): Promise<MaintenanceUser | undefined> {
  try {
    return config.getUser ? await config.getUser(ctx) : (ctx.state.user as MaintenanceUser | undefined);
  } catch (err) {
    report(ctx, err); // a broken hook must not turn maintenance into 500s: treat the user as anonymous
    return undefined;
  }
}

async function logout(ctx: ParameterizedContext, config: MaintenanceConfig): Promise<void> {
  try {
    if (config.logout) {
      await config.logout(ctx);
      return;
    }
    const c = ctx as ParameterizedContext & { logout?: () => unknown; session?: unknown };
    if (typeof c.logout === 'function') await c.logout();
    if ('session' in c) c.session = null;
    ctx.state.user = undefined;
  } catch (err) {
    report(ctx, err);
  }
}

function clientIp(ctx: ParameterizedContext, config: MaintenanceConfig): string | undefined {
  try {
    const ip = config.getClientIpAddress ? config.getClientIpAddress(ctx) : ctx.ip;
    return ip ? normalizeIp(ip) : undefined;
  } catch (err) {
    report(ctx, err);
    return undefined;
  }
}

const EPOCH = new Date(0);

/**
 * Koa middleware that answers with the maintenance page (or JSON, or a redirect) while maintenance is on, except
 * for requests a rule lets through. Options are validated here, once: bad ones throw `MaintenanceError`.
 * Requests that pass get `ctx.state.maintenanceMode` (boolean) and `ctx.state.maintenanceDecision`.
 * @example
 * const app = new Koa();
 * app.use(maintenance({ ignoreStaff: true, ignoreIpAddresses: ['10.0.0.0/8'], ignoreUrls: ['/healthz'] }));
 * app.use(router.routes());
 */
export function maintenance(options?: MaintenanceOptions): Middleware {
  const config = resolveOptions(options);
  const rules = compileRules(config);
  const respond = createResponder(config, createRenderer(config));
  const withUser = needsUser(config);
  const withIp = config.ignoreIpAddresses.length > 0;
  // Parse only what a configured rule looks at: the path for path rules, the host for an absolute redirectUrl.
  const withPath = config.ignoreUrls.length > 0 || config.ignoreAdminSite || config.redirectUrl !== undefined;
  const withHost = config.redirectUrl !== undefined && !config.redirectUrl.startsWith('/');

  /** Facts of a request that cannot be blocked (state off, no forced route): decide() needs none. */
  const NO_FACTS: RequestFacts = Object.freeze({ path: '', host: '' });

  /** Decides a request that may be blocked (state on, or a forced route) and answers it. */
  function answer(ctx: ParameterizedContext, next: Next, state: MaintenanceState, route: RouteFacts, now: Date) {
    // Only the user lookup (a hook) can be asynchronous; everything else stays on the synchronous path.
    if (withUser && !route.forced) {
      return findUser(ctx, config).then((user) => settle(ctx, next, state, route, now, user));
    }
    return settle(ctx, next, state, route, now, undefined);
  }

  function settle(
    ctx: ParameterizedContext,
    next: Next,
    state: MaintenanceState,
    route: RouteFacts,
    now: Date,
    user: MaintenanceUser | undefined,
  ): void | Promise<void> {
    const path = withPath ? normalizePath(ctx.path) : '';
    const host = withHost ? ctx.host : '';
    const facts: RequestFacts = route.forced
      ? { path, host, forced: route.forced }
      : {
          path,
          host,
          isToggleOffRoute: route.isToggleOffRoute,
          user,
          ip: withIp ? clientIp(ctx, config) : undefined,
          nodeEnv: config.ignoreTests ? process.env.NODE_ENV : undefined,
        };
    const decision = decide(facts, state, config, rules, now);
    if (decision.blocked) {
      ctx.state.maintenanceDecision = { blocked: true, rule: decision.rule };
      if (decision.logout) return logout(ctx, config).then(() => respond(ctx, state, decision, now));
      return respond(ctx, state, decision, now);
    }
    ctx.state.maintenanceDecision = decision;
    ctx.state.maintenanceMode = isActive(state, now);
    if (hasTaggedRoutes()) registerFallback(ctx, facts, state);
    return next();
  }

  function handle(ctx: ParameterizedContext, next: Next, state: MaintenanceState, route: RouteFacts) {
    // A disabled state is off whatever the time: the clock is read only for an enabled (maybe scheduled) state.
    const now = state.enabled ? new Date() : EPOCH;
    if (route.forced || isActive(state, now)) return answer(ctx, next, state, route, route.forced ? new Date() : now);
    // The hot path while maintenance is off: no path parsing, no allocation, no extra await.
    ctx.state.maintenanceDecision = decide(NO_FACTS, state, config, rules, now);
    ctx.state.maintenanceMode = false;
    if (hasTaggedRoutes()) {
      registerFallback(ctx, { path: withPath ? normalizePath(ctx.path) : '', host: withHost ? ctx.host : '' }, state);
    }
    return next();
  }

  return function maintenanceMiddleware(ctx, next) {
    // Resolved per request so that Container.set(MaintenanceService, …) after app setup is honoured.
    const service = config.service ?? defaultService();
    const route = routeFacts(ctx);
    // A forced route needs no read: its answer does not depend on the state (health checks stay store-free).
    if (route.forced) return handle(ctx, next, service.lastKnownState(), route);
    const fresh = service.freshState();
    if (fresh !== undefined) return handle(ctx, next, fresh, route);
    return service.getState().then((state) => handle(ctx, next, state, route));
  };

  function registerFallback(ctx: ParameterizedContext, facts: RequestFacts, state: MaintenanceState): void {
    fallbackResponders.set(ctx, () => {
      const forced = decide({ ...facts, forced: 'on' }, state, config, rules, new Date());
      ctx.state.maintenanceDecision = { blocked: true, rule: forced.rule };
      return Promise.resolve(respond(ctx, state, forced as Extract<Decision, { blocked: true }>));
    });
  }
}
