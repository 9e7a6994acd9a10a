/**
 * `maintenance(options)`: the Koa adapter. Per request, in this order: read the state and take the shortcut where
 * core/fast-path.ts says every request passes (`maintenanceMiddleware`; with a `scope`, the state in force for the
 * request's scope, `inScope`); else one {@link Visit} carries the request on: the bypass door and the off path
 * (`handle`), the user when a rule needs it (`answer`), the facts and `decide` (`settle`), then either block (`block`:
 * hold and release, logout, the answer) or pass (`pass`).
 */
import { performance } from 'node:perf_hooks';
import type { Middleware, Next, ParameterizedContext } from 'koa';
import {
  type Decision,
  type DecisionPolicy,
  type DecisionTrace,
  decide,
  type MaintenanceUser,
  needsUser,
  type RequestFacts,
  STATE_OFF,
} from '../core/decide.js';
import { MaintenanceError } from '../core/errors.js';
import {
  passesUnseen,
  passesUnseenInScope,
  type ShortcutSetup,
  shortcutSetup,
  UNSEEN_FACTS,
} from '../core/fast-path.js';
import { negotiateLocale } from '../core/i18n.js';
import { clientKey } from '../core/ip.js';
import { type BypassRules, compileRules, normalizePath, trimSlash } from '../core/rules.js';
import { isScopeName, RESPONSE_SCOPE, stateInForce } from '../core/scope.js';
import { blocksRequests, isActive, type MaintenanceState } from '../core/state.js';
import { startsWithin, type UpcomingWindow, upcomingWindow } from '../core/upcoming.js';
import { defaultService, type MaintenanceService } from '../service/service.js';
import { type BypassGate, createBypassGate } from './bypass-gate.js';
import { fallbackResponders, hasTaggedRoutes, type RouteFacts, routeFacts } from './force.js';
import { createHolder, type Holder, type HoldWatch } from './hold.js';
import { clientIp, findUser, logout } from './hooks.js';
import { LiveLink } from './live-link.js';
import { createDecisionCounter, type DecisionCounter, registerActiveGauge } from './metrics.js';
import { type MaintenanceConfig, type MaintenanceOptions, resolveOptions } from './options.js';
import { proxyWarning } from './proxy-check.js';
import { createRenderer } from './render.js';
import { type BlockDecision, createResponder, neverCache, type Responder, report } from './respond.js';

/** Everything one `maintenance()` call prepares once, so a request does only its own work. */
interface Setup extends DecisionPolicy {
  readonly config: MaintenanceConfig;
  readonly rules: BypassRules;
  readonly respond: Responder;
  readonly gate: BypassGate;
  readonly healthPaths: ReadonlySet<string>;
  /** A user rule or logout flag is on: the user must be looked up (the only asynchronous fact). */
  readonly withUser: boolean;
  readonly withIp: boolean;
  /** Parse only what a configured rule looks at: the path for path rules, the host for an absolute redirectUrl. */
  readonly withPath: boolean;
  readonly withHost: boolean;
  /** The `scope` option: a fixed name, or the function that finds the request's scope. */
  readonly scope?: MaintenanceConfig['scope'];
  /** `announceBeforeSeconds` in milliseconds (0: off). */
  readonly announceMs: number;
  readonly holder?: Holder;
  /**
   * When a request may pass without the door or {@link decide} (core/fast-path.ts): while the state in force lets
   * every request through ({@link passesUnseen}) it passes with `STATE_OFF` (`passOff`).
   */
  readonly shortcut: ShortcutSetup;
  /** Counts decisions made while a state is active (OpenTelemetry; a no-op without an SDK). */
  readonly count: DecisionCounter;
  /**
   * With `liveReload` and `announceBeforeSeconds`: the banner's live attributes, put on `ctx.state.maintenanceLive`
   * of every request that passes, so a page shows, changes and hides the banner as windows come and go.
   */
  readonly banner?: LiveLink;
}

/**
 * One request past the shortcut, with what the middleware knows about it: made once (one object of one shape), filled
 * in as it becomes known, and passed along instead of positional arguments.
 */
interface Visit {
  readonly ctx: ParameterizedContext;
  readonly next: Next;
  readonly service: MaintenanceService;
  /** What the matched route says (forced, the toggle routes' `off` URL); {@link NO_ROUTE} when no route is tagged. */
  readonly route: RouteFacts;
  /** The path is one of `healthPaths`. */
  readonly health: boolean;
  /** The request's own scope (from the `scope` option), whichever state is in force; set once known. */
  requestScope: string | undefined;
  /** The state in force, once read ({@link pending}). */
  state: MaintenanceState;
  /** The scope whose state `state` is (undefined: the global state). */
  scope: string | undefined;
  /** When the state was judged ({@link EPOCH} for a disabled state: its decision does not depend on the time). */
  now: Date;
}

/** A request with its state in force: one that may be blocked (or announced to). */
type Pending = Readonly<Visit>;

const EPOCH = new Date(0);
/** A visit's state before it is read (never decided on: {@link pending} replaces it first). */
const NOT_READ: MaintenanceState = Object.freeze({ enabled: false });

/** What `routeFacts` says when no route is tagged (it is not even asked then). */
const NO_ROUTE: RouteFacts = Object.freeze({ isToggleOffRoute: false });

/** The clock of the shortcut (read only for a scheduled state). */
const clock = () => new Date();

function prepare(config: MaintenanceConfig): Setup {
  const live = liveLinkOf(config);
  return {
    count: createDecisionCounter(() => config.service ?? defaultService()),
    config,
    rules: compileRules(config),
    respond: createResponder(config, createRenderer(config), live),
    banner: config.announceBeforeSeconds > 0 ? live : undefined,
    gate: createBypassGate(config),
    healthPaths: new Set(config.healthPaths),
    withUser: needsUser(config),
    withIp: config.ignoreIpAddresses.length > 0,
    withPath: config.ignoreUrls.length > 0 || config.ignoreAdminSite || config.redirectUrl !== undefined,
    withHost: config.redirectUrl !== undefined && !config.redirectUrl.startsWith('/'),
    scope: config.scope,
    announceMs: config.announceBeforeSeconds * 1000,
    holder: config.hold ? createHolder({ ...config.hold, pollMs: HOLD_POLL_MS }) : undefined,
    shortcut: shortcutSetup(config, { taggedRoutes: hasTaggedRoutes, now: clock }),
  };
}

/** The live pages of a configuration (undefined with `liveReload: false`). */
function liveLinkOf(config: MaintenanceConfig): LiveLink | undefined {
  if (config.liveReload === false) return undefined;
  return new LiveLink({
    ...config.liveReload,
    announceMs: config.announceBeforeSeconds * 1000,
    catalogs: config.catalogs,
    defaultLocale: config.defaultLocale,
  });
}

/** How often held requests re-read the state through the cache, all at once (stores without push; windows that end). */
const HOLD_POLL_MS = 100;

/** When a request reached the middleware (`performance.now()`), kept only with `hold`: its limit counts from then. */
const ARRIVED = Symbol('koa-maintenance-mode.arrived');
type Arrived = { [ARRIVED]?: number };

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
  const setup = prepare(resolveOptions(options));
  let first = true;
  return function maintenanceMiddleware(ctx, next) {
    // Resolved per request so that Container.set(MaintenanceService, …) after app setup is honoured.
    const service = setup.config.service ?? defaultService();
    if (first) first = onFirstRequest(setup, ctx, service);
    if (setup.scope === undefined) {
      // From memory, no read (undefined when one is due).
      const fresh = service.freshState();
      if (fresh !== undefined && passesUnseen(setup.shortcut, fresh)) {
        markOff(setup, ctx);
        return setup.config.presence ? passCounted(service, undefined, next) : next();
      }
      const visit = visitOf(setup, ctx, next, service);
      // A forced route needs no read: its answer does not depend on the state (health checks stay store-free).
      if (visit.route.forced) return handle(setup, visit, service.lastKnownState(), undefined);
      if (fresh !== undefined) return handle(setup, visit, fresh, undefined);
      return service.getState().then((state) => handle(setup, visit, state, undefined));
    }
    // While no route is tagged none can force a decision: the request's scope is all the shortcut needs to know.
    const scope = hasTaggedRoutes() ? NOT_ASKED : scopeOf(setup, ctx);
    if ((typeof scope === 'string' || scope === undefined) && scopePassesUnseen(setup, service, scope)) {
      markOff(setup, ctx, scope);
      return setup.config.presence ? passCounted(service, scope, next) : next();
    }
    const visit = visitOf(setup, ctx, next, service);
    if (visit.route.forced) return handle(setup, visit, service.lastKnownState(), undefined);
    return inScope(setup, visit, scope === NOT_ASKED ? scopeOf(setup, ctx) : scope);
  };
}

/** The scope hook was not asked yet (a tagged route may force the decision first, and then it is never asked). */
const NOT_ASKED: unique symbol = Symbol('not asked');

/** A request past the shortcut: its route and health path looked up, and (with `hold`) its arrival noted. */
function visitOf(s: Setup, ctx: ParameterizedContext, next: Next, service: MaintenanceService): Visit {
  if (s.holder) (ctx as Arrived)[ARRIVED] = performance.now();
  const route = hasTaggedRoutes() ? routeFacts(ctx) : NO_ROUTE;
  const health = s.healthPaths.size > 0 && s.healthPaths.has(trimSlash(normalizePath(ctx.path)));
  return { ctx, next, service, route, health, requestScope: undefined, state: NOT_READ, scope: undefined, now: EPOCH };
}

/**
 * {@link passesUnseenInScope} for a request of `scope` with the states in memory (false when a read is due: the
 * request then takes the long way, which reads them).
 */
function scopePassesUnseen(s: Setup, service: MaintenanceService, scope: string | undefined): boolean {
  const global = service.freshState();
  if (global === undefined || !passesUnseen(s.shortcut, global)) return false;
  if (scope === undefined) return true;
  const table = service.freshScopeStates();
  // passesUnseenInScope(s.shortcut, global, scoped), its global half known already: no stored state for the scope.
  return table !== undefined && table.get(scope) === undefined;
}

/**
 * The request's scope from the `scope` option. A hook that throws, or returns something other than a string, is
 * reported and means no scope. Names are not checked here (that would cost every request a regex): the service
 * refuses invalid names when a scope is switched, so such a name never matches a stored scope.
 */
function scopeOf(s: Setup, ctx: ParameterizedContext): string | undefined | Promise<string | undefined> {
  const option = s.scope;
  if (typeof option !== 'function') return option;
  try {
    const found = option(ctx);
    if (typeof found === 'string' || found === undefined) return found;
    if (found instanceof Promise)
      return found.then(
        (name) => checkedScope(ctx, name),
        (err) => void report(ctx, err),
      );
    return checkedScope(ctx, found);
  } catch (err) {
    report(ctx, err);
    return undefined;
  }
}

function checkedScope(ctx: ParameterizedContext, name: unknown): string | undefined {
  if (typeof name === 'string' || name === undefined || name === null) return name ?? undefined;
  report(
    ctx,
    new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_SCOPE',
      `The scope option returned ${typeof name} ${JSON.stringify(name)}, not a scope name (a string) or undefined; the request was decided on the global state alone.`,
    ),
  );
  return undefined;
}

/**
 * The state in force for a request of a scope: the global state and the scope table come from memory when fresh
 * (one table for every scope: no read per tenant), else from the service's cache policy.
 */
function inScope(s: Setup, v: Visit, scope: string | undefined | Promise<string | undefined>) {
  if (scope instanceof Promise) {
    return scope.then((name) => {
      v.requestScope = name;
      return withStates(s, v);
    });
  }
  v.requestScope = scope;
  return withStates(s, v);
}

function withStates(s: Setup, v: Visit) {
  const { service, requestScope } = v;
  const global = service.freshState();
  const table = requestScope === undefined ? NO_TABLE : service.freshScopeStates();
  if (global !== undefined && table !== undefined) return decideInScope(s, v, global, table);
  return Promise.all([service.getState(), requestScope === undefined ? NO_TABLE : service.scopeStates()]).then(
    ([g, t]) => decideInScope(s, v, g, t),
  );
}

const NO_TABLE: ReadonlyMap<string, MaintenanceState> = new Map();

function decideInScope(s: Setup, v: Visit, global: MaintenanceState, table: ReadonlyMap<string, MaintenanceState>) {
  const scope = v.requestScope;
  const scoped = scope === undefined ? undefined : table.get(scope);
  // The off path: the scope has no stored state, so the global state decides.
  if (passesUnseenInScope(s.shortcut, global, scoped)) {
    markOff(s, v.ctx, scope);
    return proceed(s, v);
  }
  if (scoped === undefined) return handle(s, v, global, undefined);
  const inForce = stateInForce(global, scoped, scope, global.enabled || scoped.enabled ? new Date() : EPOCH);
  if (inForce.scope !== undefined) (v.ctx.res as { [RESPONSE_SCOPE]?: string })[RESPONSE_SCOPE] = inForce.scope;
  return handle(s, v, inForce.state, inForce.scope);
}

/**
 * Once, on the first request (the app's proxy settings are known only then): the proxy warning, and the
 * `maintenance.active` gauge of the service. Returns false (not the first request any more).
 */
function onFirstRequest(s: Setup, ctx: ParameterizedContext, service: MaintenanceService): false {
  if (s.withIp && s.config.getClientIpAddress === undefined) {
    const warning = proxyWarning(ctx.app);
    if (warning) service.config.logger.warn(warning);
  }
  registerActiveGauge(service);
  if (s.announceMs > 0) service.announceAhead(s.announceMs);
  if (s.config.presence) service.joinFleet(s.config.presence);
  else service.startSilences(); // no fleet, but this instance serves: its silences are its own to make
  if (s.holder) {
    const holder = s.holder;
    service.trackHeld(() => holder.held);
  }
  return false;
}

/**
 * Passes a request with maintenance off for it, counted as in flight until it finishes: what a drain
 * (`waitForFleet({ drained })`) waits for once maintenance becomes active.
 */
function passCounted(service: MaintenanceService, scope: string | undefined, next: Next): Promise<void> {
  const inFlight = service.inFlight;
  // One `then` with the counters' own handlers: no closure per request, and one promise where `finally` makes three.
  if (scope === undefined) {
    inFlight.enter(undefined);
    return next().then(inFlight.settled, inFlight.failed);
  }
  const count = inFlight.enterScope(scope);
  return next().then(count.settled, count.failed);
}

/**
 * A request the shortcut lets through ({@link passesUnseen}: the state in force lets every request through): it passes
 * with the decision every such request gets — no door, no {@link decide}, no allocation.
 */
function markOff(s: Setup, ctx: ParameterizedContext, scope?: string): void {
  ctx.state.maintenanceDecision = STATE_OFF;
  ctx.state.maintenanceMode = false;
  if (s.banner !== undefined) liveBanner(s.banner, ctx, scope);
  expose(s, ctx, STATE_OFF);
}

/**
 * `ctx.state.maintenanceLive`: what the banner's script follows (the request's scope, when it is a scope name), once
 * live routes are known.
 */
function liveBanner(link: LiveLink, ctx: ParameterizedContext, scope: string | undefined): void {
  const banner = link.banner(isScopeName(scope) ? scope : undefined);
  if (banner !== undefined) ctx.state.maintenanceLive = banner;
}

/** On to the app with maintenance off for the request: counted as in flight in a fleet. */
function proceed(s: Setup, v: Visit): Promise<void> {
  return s.config.presence ? passCounted(v.service, v.requestScope, v.next) : v.next();
}

/**
 * The bypass door, then the path while maintenance is off: no path parsing unless a rule needs it, no extra await.
 * `scope` is the scope whose state `state` is (undefined: the global state).
 */
function handle(s: Setup, v: Visit, state: MaintenanceState, scope: string | undefined) {
  const { ctx } = v;
  if (s.gate.enabled(state) && s.gate.grant(ctx, state)) return;
  // A disabled state is off whatever the time: the clock is read only for an enabled (maybe scheduled) state.
  const now = state.enabled ? new Date() : EPOCH;
  if (v.route.forced || v.health || isActive(state, now)) return answer(s, pending(v, state, scope, now));
  const decision = decide(UNSEEN_FACTS, state, s, now);
  ctx.state.maintenanceDecision = decision;
  ctx.state.maintenanceMode = false;
  if (s.banner !== undefined) liveBanner(s.banner, ctx, v.requestScope);
  if (s.announceMs > 0 && state.enabled && startsWithin(state, now, s.announceMs)) {
    announce(s, pending(v, state, scope, now));
  }
  expose(s, ctx, decision);
  if (hasTaggedRoutes()) registerFallback(s, ctx, baseFacts(s, ctx), state);
  return proceed(s, v);
}

/** The visit with its state in force (the same object: no copy on the blocked path). */
function pending(v: Visit, state: MaintenanceState, scope: string | undefined, now: Date): Pending {
  v.state = state;
  v.scope = scope;
  v.now = now;
  return v;
}

/** Looks the user up when a rule needs it (a hook, the only asynchronous fact), then settles the request. */
function answer(s: Setup, p: Pending): void | Promise<void> {
  if (s.withUser && !p.route.forced && !p.health && isActive(p.state, p.now)) {
    return findUser(p.ctx, s.config).then((user) => settle(s, p, user));
  }
  return settle(s, p, undefined);
}

/** Gathers the facts, decides, and blocks or passes. */
function settle(s: Setup, p: Pending, user: MaintenanceUser | undefined): void | Promise<void> {
  const facts = gatherFacts(s, p, user);
  const decision = decide(facts, p.state, s, p.now);
  return decision.blocked ? block(s, p, facts, decision) : pass(s, p, facts, decision);
}

/**
 * `ctx.state.maintenanceUpcoming` for a window that starts within `announceBeforeSeconds` (the caller checks), in the
 * visitor's language (its message, the banner's label). A window further ahead costs nothing: it is never called.
 */
function announce(s: Setup, p: Pending): void {
  const { ctx, state, scope, now } = p;
  const { locales, defaultLocale, catalogs } = s.config;
  const lang = locales.length > 1 ? negotiateLocale(ctx.get('Accept-Language'), locales, defaultLocale) : defaultLocale;
  const window = upcomingWindow(state, now, { scope, withinMs: s.announceMs, locale: lang }) as UpcomingWindow;
  const t = catalogs[lang];
  ctx.state.maintenanceUpcoming = { ...window, lang, label: t.scheduled, fullStop: t.fullStop ?? '.' };
}

function baseFacts(s: Setup, ctx: ParameterizedContext): RequestFacts {
  return { path: s.withPath ? normalizePath(ctx.path) : '', host: s.withHost ? ctx.host : '' };
}

function gatherFacts(s: Setup, p: Pending, user: MaintenanceUser | undefined): RequestFacts {
  const { ctx, route, health, state } = p;
  const path = s.withPath ? normalizePath(ctx.path) : '';
  const host = s.withHost ? ctx.host : '';
  // Object literals of one shape (no spread): decide() reads these on every blocked request.
  if (route.forced || health) return { path, host, forced: route.forced, isHealthPath: health };
  const method = ctx.method;
  return {
    path,
    host,
    method,
    isPreflight: method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '',
    isToggleOffRoute: route.isToggleOffRoute,
    hasBypass: s.gate.carries(ctx, state),
    user,
    ip: s.withIp ? clientIp(ctx, s.config) : undefined,
    nodeEnv: s.config.ignoreTests ? process.env.NODE_ENV : undefined,
  };
}

/**
 * Answers a blocked request. With `hold`, a request blocked by the state (not a forced route) first waits for
 * maintenance to end and, released, goes on to the app. A user who must be logged out is, and the request is then
 * decided again as the anonymous request it has become (django-maintenance-mode serves it when anonymous users are
 * let through); when the logout hook fails the user may still be signed in, so the request stays blocked.
 */
function block(s: Setup, p: Pending, facts: RequestFacts, decision: BlockDecision): void | Promise<void> {
  if (s.holder && decision.rule === 'maintenance') {
    const started = performance.now();
    const arrived = (p.ctx as Arrived)[ARRIVED] ?? started;
    const client = clientKey(facts.ip ?? clientIp(p.ctx, s.config));
    return s.holder.hold(p.ctx, client, arrived, holdWatch(p)).then((outcome) => {
      if (outcome === 'release') return release(s, p, performance.now() - started);
      if (outcome === 'gone') {
        p.ctx.respond = false; // the client left: nothing to write
        return;
      }
      // Shutting down: the answer also ends a kept-alive connection, so the client retries on another instance.
      if (p.service.closed) p.ctx.set('Connection', 'close');
      return answerBlocked(s, p, facts, decision);
    });
  }
  return answerBlocked(s, p, facts, decision);
}

/** Ids of services, for the keys of held requests' groups. */
const serviceIds = new WeakMap<MaintenanceService, number>();
let lastServiceId = 0;

/**
 * What a held request waits for: the global state and its own scope's state of its service. A scope the `scope` hook
 * named that is no scope name can never be in maintenance: such a request waits like one without a scope.
 */
function holdWatch(p: Pending): HoldWatch {
  const { service } = p;
  const scope = isScopeName(p.requestScope) ? p.requestScope : undefined;
  let id = serviceIds.get(service);
  if (id === undefined) {
    id = ++lastServiceId;
    serviceIds.set(service, id);
  }
  return {
    key: scope === undefined ? `${id}` : `${id}:${scope}`,
    watch: (listener: () => void) => service.watch(listener),
    closed: () => service.closed,
    async stillBlocked() {
      const now = new Date();
      if (blocksRequests(await service.getState(), now)) return true;
      return scope !== undefined && blocksRequests(await service.getState(scope), now);
    },
  };
}

const RELEASED: Decision = Object.freeze({ blocked: false, rule: 'released' });

/** A held request whose maintenance ended: on to the app as if maintenance had been off. */
function release(s: Setup, p: Pending, heldMs: number): Promise<void> {
  const { ctx } = p;
  ctx.state.maintenanceDecision = RELEASED;
  ctx.state.maintenanceMode = false;
  ctx.state.maintenanceHeldMs = heldMs;
  if (s.banner !== undefined) liveBanner(s.banner, ctx, p.requestScope);
  expose(s, ctx, RELEASED);
  tell(s, p, RELEASED); // decided while maintenance was active: counted like every other such request
  // Maintenance is over for it: it runs like a request let in while maintenance is off (a later drain waits for it).
  return proceed(s, p);
}

function answerBlocked(s: Setup, p: Pending, facts: RequestFacts, decision: BlockDecision): void | Promise<void> {
  if (decision.logout) {
    return logout(p.ctx, s.config).then((loggedOut) => {
      if (!loggedOut) return respondBlocked(s, p, decision);
      const anonymous = { ...facts, user: undefined };
      const again = decide(anonymous, p.state, s, p.now);
      return again.blocked ? respondBlocked(s, p, again) : pass(s, p, anonymous, again);
    });
  }
  return respondBlocked(s, p, decision);
}

/** What a request blocked by the global state is told (one frozen object per rule, like every pass decision). */
const BLOCKED_BY: Readonly<Record<BlockDecision['rule'], DecisionTrace>> = {
  'forced-on': Object.freeze({ blocked: true, rule: 'forced-on' }),
  maintenance: Object.freeze({ blocked: true, rule: 'maintenance' }),
};

function respondBlocked(s: Setup, p: Pending, decision: BlockDecision): void | Promise<void> {
  // No object spread on this path: V8 builds spread literals slowly (it tripled the cost of a blocked request).
  const trace: DecisionTrace =
    p.scope === undefined ? BLOCKED_BY[decision.rule] : { blocked: true, rule: decision.rule, scope: p.scope };
  p.ctx.state.maintenanceDecision = trace;
  expose(s, p.ctx, trace);
  tell(s, p, trace);
  return s.respond(p.ctx, p.state, decision, p.now);
}

function pass(s: Setup, p: Pending, facts: RequestFacts, decision: Decision): void | Promise<void> {
  const { ctx, state } = p;
  const trace = p.scope === undefined ? decision : withScopeNamed(decision, p.scope);
  ctx.state.maintenanceDecision = trace;
  ctx.state.maintenanceMode = blocksRequests(state, p.now);
  ctx.state.maintenanceReadOnly = decision.rule === 'read-only';
  if (state.dryRun && isActive(state, p.now)) ctx.state.maintenanceDryRun = true;
  if (s.banner !== undefined) liveBanner(s.banner, ctx, p.requestScope);
  expose(s, ctx, trace);
  tell(s, p, trace);
  if (hasTaggedRoutes()) registerFallback(s, ctx, facts, state);
  return p.health ? serveHealth(ctx, p.next, state) : p.next();
}

function withScopeNamed(decision: Decision, scope: string): DecisionTrace {
  return decision.rule === 'dry-run'
    ? { blocked: false, rule: 'dry-run', wouldBlock: 'maintenance', scope }
    : { blocked: false, rule: decision.rule, scope };
}

/**
 * Counts a request decided while a state is active or its route is forced, and calls `onDecision` for it; never
 * throws (requests decided while maintenance is off are neither counted nor told: the off path stays free).
 */
function tell(s: Setup, p: Pending, decision: DecisionTrace): void {
  if (!(p.route.forced || isActive(p.state, p.now))) return;
  s.count(decision);
  const hook = s.config.onDecision;
  if (!hook) return;
  try {
    hook(p.ctx, decision);
  } catch (err) {
    report(p.ctx, err);
  }
}

/** `X-Maintenance-Decision: pass|blocked; rule=<rule>[; would=<rule>][; scope=<name>]` with `exposeDecision`. */
function expose(s: Setup, ctx: ParameterizedContext, d: DecisionTrace): void {
  if (!s.config.exposeDecision) return;
  const would = d.wouldBlock === undefined ? '' : `; would=${d.wouldBlock}`;
  const scope = d.scope === undefined ? '' : `; scope=${d.scope}`;
  ctx.set('X-Maintenance-Decision', `${d.blocked ? 'blocked' : 'pass'}; rule=${d.rule}${would}${scope}`);
}

/** A health path the app does not serve is answered here, so probes never see a 404 or the maintenance page. */
async function serveHealth(ctx: ParameterizedContext, next: Next, state: MaintenanceState): Promise<void> {
  await next();
  if (ctx.status === 404 && ctx.body == null) {
    ctx.status = 200;
    neverCache(ctx);
    ctx.body = { status: 'ok', maintenance: isActive(state, new Date()) };
  }
}

/** Lets a `forceMaintenance('on')` route that the look-ahead did not see answer with this middleware's response. */
function registerFallback(s: Setup, ctx: ParameterizedContext, facts: RequestFacts, state: MaintenanceState): void {
  fallbackResponders.set(ctx, () => {
    const forced = decide({ ...facts, forced: 'on', isHealthPath: false }, state, s, new Date());
    ctx.state.maintenanceDecision = { blocked: true, rule: forced.rule };
    expose(s, ctx, forced);
    return Promise.resolve(s.respond(ctx, state, forced as BlockDecision));
  });
}
