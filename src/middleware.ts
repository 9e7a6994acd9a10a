/** `maintenance(options)`: the Koa adapter. Reads the state once, gathers facts, calls `decide`, writes the answer. */
import type { Middleware, ParameterizedContext } from 'koa';
import { type Decision, decide, needsUser, type RequestFacts } from './decide.js';
import { fallbackResponders, hasTaggedRoutes, routeFacts } from './force.js';
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

  return async function maintenanceMiddleware(ctx, next) {
    // Resolved per request so that Container.set(MaintenanceService, …) after app setup is honoured.
    const service = config.service ?? defaultService();
    const route = routeFacts(ctx);
    // A forced route needs no read: its answer does not depend on the state (health checks stay store-free).
    const state: MaintenanceState = route.forced ? service.lastKnownState() : await service.getState();
    const now = new Date();
    const active = isActive(state, now);
    const host = ctx.host;
    let facts: RequestFacts = { path: normalizePath(ctx.path), host, forced: route.forced };
    if (active && !route.forced) {
      facts = {
        ...facts,
        isToggleOffRoute: route.isToggleOffRoute,
        user: withUser ? await findUser(ctx, config) : undefined,
        ip: withIp ? clientIp(ctx, config) : undefined,
        nodeEnv: config.ignoreTests ? process.env.NODE_ENV : undefined,
      };
    }
    const decision: Decision = decide(facts, state, config, rules, now);
    ctx.state.maintenanceDecision = { blocked: decision.blocked, rule: decision.rule };
    if (decision.blocked) {
      if (decision.logout) await logout(ctx, config);
      await respond(ctx, state, decision);
      return;
    }
    ctx.state.maintenanceMode = active;
    if (hasTaggedRoutes()) registerFallback(ctx, facts, state);
    await next();
  };

  function registerFallback(ctx: ParameterizedContext, facts: RequestFacts, state: MaintenanceState): void {
    fallbackResponders.set(ctx, () => {
      const forced = decide({ ...facts, forced: 'on' }, state, config, rules, new Date());
      ctx.state.maintenanceDecision = { blocked: true, rule: forced.rule };
      return respond(ctx, state, forced as Extract<Decision, { blocked: true }>);
    });
  }
}
