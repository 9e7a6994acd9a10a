/** `maintenance(options)`: the Koa adapter. Reads the state once, gathers facts, calls `decide`, writes the answer. */
import type { Middleware, Next, ParameterizedContext } from 'koa';
import { hashSecret, matchesSecret, secretKeyOf, signBypassCookie, verifyBypassCookie } from './bypass.js';
import { type Decision, decide, needsUser, type RequestFacts } from './decide.js';
import { fallbackResponders, hasTaggedRoutes, type RouteFacts, routeFacts } from './force.js';
import { normalizeIp } from './ip.js';
import {
  BYPASS_DEFAULTS,
  type MaintenanceConfig,
  type MaintenanceOptions,
  type MaintenanceUser,
  resolveOptions,
  trimSlash,
} from './options.js';
import { createRenderer } from './render.js';
import { createResponder, NO_CACHE, report } from './respond.js';
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
  const healthPaths = new Set(config.healthPaths);
  const optionKey = config.bypass ? hashSecret(config.bypass.secret) : undefined;
  const bypassHeader = config.bypass?.header ?? BYPASS_DEFAULTS.header;
  const cookieName = config.bypass?.cookieName ?? BYPASS_DEFAULTS.cookieName;
  const ttlSeconds = config.bypass?.ttlSeconds ?? BYPASS_DEFAULTS.ttlSeconds;

  const keysOf = (state: MaintenanceState): string[] => {
    const keys: string[] = [];
    if (optionKey) keys.push(optionKey);
    if (state.bypassHash) keys.push(state.bypassHash);
    return keys;
  };

  const expose = (ctx: ParameterizedContext, decision: { blocked: boolean; rule: string }) => {
    if (config.exposeDecision)
      ctx.set('X-Maintenance-Decision', `${decision.blocked ? 'blocked' : 'pass'}; rule=${decision.rule}`);
  };

  /** `/<secret>`: a signed cookie for ttlSeconds, then home. Checked before any rule, in any state. */
  function grantBypass(ctx: ParameterizedContext, keys: string[]): boolean {
    const p = ctx.path;
    if (keys.length === 0 || p.length < 17 || p.indexOf('/', 1) !== -1) return false;
    // Signed with the key of the secret used, so a window's secret never yields a cookie that outlives the window.
    const key = secretKeyOf(p.slice(1), keys);
    if (key === undefined) return false;
    const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    ctx.cookies.set(cookieName, signBypassCookie(key, expires), {
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secure,
      path: '/',
      maxAge: ttlSeconds * 1000,
      overwrite: true,
    });
    ctx.set('Cache-Control', NO_CACHE);
    ctx.redirect('/');
    return true;
  }

  function hasBypass(ctx: ParameterizedContext, keys: string[]): boolean {
    if (keys.length === 0) return false;
    return (
      matchesSecret(ctx.get(bypassHeader) || undefined, keys) ||
      verifyBypassCookie(ctx.cookies.get(cookieName), keys, Math.floor(Date.now() / 1000))
    );
  }

  /** A health path the app does not serve is answered here, so probes never see a 404 or the maintenance page. */
  async function serveHealth(ctx: ParameterizedContext, next: Next, state: MaintenanceState) {
    await next();
    if (ctx.status === 404 && ctx.body == null) {
      ctx.status = 200;
      ctx.set('Cache-Control', NO_CACHE);
      ctx.body = { status: 'ok', maintenance: isActive(state, new Date()) };
    }
  }

  /** Decides a request that may be blocked (state on, forced route or health path) and answers it. */
  function answer(ctx: ParameterizedContext, next: Next, state: MaintenanceState, route: RouteFacts, health: boolean) {
    const now = new Date();
    // Only the user lookup (a hook) can be asynchronous; everything else stays on the synchronous path.
    if (withUser && !route.forced && !health && isActive(state, now)) {
      return findUser(ctx, config).then((user) => settle(ctx, next, state, route, now, health, user));
    }
    return settle(ctx, next, state, route, now, health, undefined);
  }

  function settle(
    ctx: ParameterizedContext,
    next: Next,
    state: MaintenanceState,
    route: RouteFacts,
    now: Date,
    health: boolean,
    user: MaintenanceUser | undefined,
  ): void | Promise<void> {
    const path = withPath ? normalizePath(ctx.path) : '';
    const host = withHost ? ctx.host : '';
    const method = ctx.method;
    const facts: RequestFacts =
      route.forced || health
        ? { path, host, forced: route.forced, isHealthPath: health }
        : {
            path,
            host,
            method,
            isPreflight: method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '',
            isToggleOffRoute: route.isToggleOffRoute,
            hasBypass: hasBypass(ctx, keysOf(state)),
            user,
            ip: withIp ? clientIp(ctx, config) : undefined,
            nodeEnv: config.ignoreTests ? process.env.NODE_ENV : undefined,
          };
    const decision = decide(facts, state, config, rules, now);
    if (decision.blocked) {
      ctx.state.maintenanceDecision = { blocked: true, rule: decision.rule };
      expose(ctx, decision);
      if (decision.logout) return logout(ctx, config).then(() => respond(ctx, state, decision, now));
      return respond(ctx, state, decision, now);
    }
    ctx.state.maintenanceDecision = decision;
    ctx.state.maintenanceMode = isActive(state, now);
    ctx.state.maintenanceReadOnly = decision.rule === 'read-only';
    expose(ctx, decision);
    if (hasTaggedRoutes()) registerFallback(ctx, facts, state);
    return health ? serveHealth(ctx, next, state) : next();
  }

  function handle(ctx: ParameterizedContext, next: Next, state: MaintenanceState, route: RouteFacts) {
    if ((optionKey || state.bypassHash) && grantBypass(ctx, keysOf(state))) return;
    const health = healthPaths.size > 0 && healthPaths.has(trimSlash(normalizePath(ctx.path)));
    // A disabled state is off whatever the time: the clock is read only for an enabled (maybe scheduled) state.
    const now = state.enabled ? new Date() : EPOCH;
    if (route.forced || health || isActive(state, now)) return answer(ctx, next, state, route, health);
    // The hot path while maintenance is off: no path parsing, no allocation, no extra await.
    const decision = decide(NO_FACTS, state, config, rules, now);
    ctx.state.maintenanceDecision = decision;
    ctx.state.maintenanceMode = false;
    expose(ctx, decision);
    if (hasTaggedRoutes()) {
      registerFallback(ctx, { path: withPath ? normalizePath(ctx.path) : '', host: withHost ? ctx.host : '' }, state);
    }
    return next();
  }

  /** Facts of a request that cannot be blocked (state off, no forced route): decide() needs none. */
  const NO_FACTS: RequestFacts = Object.freeze({ path: '', host: '' });

  function registerFallback(ctx: ParameterizedContext, facts: RequestFacts, state: MaintenanceState): void {
    fallbackResponders.set(ctx, () => {
      const forced = decide({ ...facts, forced: 'on', isHealthPath: false }, state, config, rules, new Date());
      ctx.state.maintenanceDecision = { blocked: true, rule: forced.rule };
      expose(ctx, forced);
      return Promise.resolve(respond(ctx, state, forced as Extract<Decision, { blocked: true }>));
    });
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
}
