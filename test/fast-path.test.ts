/**
 * The middleware's shortcut past decide() (core/fast-path.ts) is a proof obligation: whenever it lets a request through
 * unseen, decide() — and the middleware's work around it — would have let it through with `STATE_OFF` too. One table of
 * requests × states × setups × "are any routes tagged" drives both; then the same table runs through the middleware.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import { expect } from 'chai';
import Keyv from 'keyv';
import Koa from 'koa';
import { hashSecret } from '../src/core/bypass.js';
import { type DecisionPolicy, decide, PASS_RULES, type RequestFacts, STATE_OFF } from '../src/core/decide.js';
import { passesUnseen, passesUnseenInScope, shortcutSetup } from '../src/core/fast-path.js';
import { normalizeIp } from '../src/core/ip.js';
import { compileRules, normalizePath } from '../src/core/rules.js';
import { stateInForce } from '../src/core/scope.js';
import type { MaintenanceState } from '../src/core/state.js';
import { startsWithin } from '../src/core/upcoming.js';
import { forceMaintenance, type MaintenanceOptions, MaintenanceService, maintenance } from '../src/index.js';
import { tagMiddleware } from '../src/koa/force.js';
import { BYPASS_DEFAULTS, type MaintenanceConfig, resolveOptions } from '../src/koa/options.js';
import { captureLogger } from './helpers/app.js';

const OPTION_SECRET = 'option-secret-0123456789';
const WINDOW_SECRET = 'window-secret-0123456789';
const HOUR = 3_600_000;

/** One request, as the app sees it. */
interface Req {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly preflight?: boolean;
  readonly user?: { isStaff?: boolean; isSuperuser?: boolean; isAuthenticated?: boolean };
  readonly ip?: string;
  /** The matched route is tagged: forced on or off, or the toggle routes' `off` URL. */
  readonly route?: 'on' | 'off' | 'toggle-off';
  /** Sends the bypass header with the app's secret or the window's. */
  readonly bypass?: 'option' | 'window';
  readonly nodeEnv?: string;
  /** The request's scope (tenant), from the `scope` option. */
  readonly scope?: string;
}

const REQUESTS: readonly Req[] = [
  { name: 'GET /' },
  { name: 'POST /', method: 'POST' },
  { name: 'a CORS preflight', method: 'OPTIONS', preflight: true },
  { name: 'a health path', path: '/healthz' },
  { name: 'the admin site', path: '/admin/users' },
  { name: 'an ignored URL', path: '/public/logo.png' },
  { name: 'the redirect target', path: '/down' },
  { name: 'an ignored IP', ip: '10.1.2.3' },
  { name: 'staff', user: { isStaff: true } },
  { name: 'a superuser', user: { isSuperuser: true } },
  { name: 'a signed-in user', user: {} },
  { name: "the app's bypass header", bypass: 'option' },
  { name: "the window's bypass header", bypass: 'window' },
  { name: "the app's secret URL", path: `/${OPTION_SECRET}` },
  { name: "the window's secret URL", path: `/${WINDOW_SECRET}` },
  { name: 'a route forced on', path: '/forced-on', route: 'on' },
  { name: 'a route forced off', path: '/forced-off', route: 'off' },
  { name: "the toggle routes' off URL", path: '/maintenance/off', route: 'toggle-off' },
  { name: 'a test runner', nodeEnv: 'test' },
  { name: 'the tenant in maintenance', scope: 'down' },
  { name: 'another tenant', scope: 'up' },
];

/** A global state and the scoped states stored beside it, at `now`. */
interface World {
  readonly name: string;
  readonly global: MaintenanceState;
  readonly scopes?: Readonly<Record<string, MaintenanceState>>;
}

function states(now: number): readonly World[] {
  const at = (ms: number) => new Date(now + ms).toISOString();
  const windowHash = hashSecret(WINDOW_SECRET);
  return [
    { name: 'off', global: { enabled: false } },
    { name: 'on', global: { enabled: true } },
    { name: 'on, read-only', global: { enabled: true, readOnly: true } },
    { name: 'on, dry run', global: { enabled: true, dryRun: true } },
    { name: 'scheduled in 2 h', global: { enabled: true, start: at(2 * HOUR) } },
    { name: 'scheduled in 10 min', global: { enabled: true, start: at(HOUR / 6) } },
    { name: 'scheduled in 10 min, dry run', global: { enabled: true, dryRun: true, start: at(HOUR / 6) } },
    { name: 'in its window', global: { enabled: true, start: at(-HOUR), end: at(HOUR) } },
    { name: 'its window ended', global: { enabled: true, start: at(-2 * HOUR), end: at(-HOUR) } },
    { name: 'its lease lapsed', global: { enabled: true, leaseUntil: at(-60_000) } },
    { name: 'on with a window secret', global: { enabled: true, bypassHash: windowHash } },
    {
      name: 'scheduled in 2 h with a window secret',
      global: { enabled: true, start: at(2 * HOUR), bypassHash: windowHash },
    },
    { name: 'off, a tenant on', global: { enabled: false }, scopes: { down: { enabled: true } } },
    {
      name: 'off, a tenant read-only',
      global: { enabled: false },
      scopes: { down: { enabled: true, readOnly: true } },
    },
    {
      name: 'off, a tenant in a dry run',
      global: { enabled: false },
      scopes: { down: { enabled: true, dryRun: true } },
    },
    {
      name: 'off, a tenant scheduled in 10 min',
      global: { enabled: false },
      scopes: { down: { enabled: true, start: at(HOUR / 6) } },
    },
    { name: 'on, a tenant read-only', global: { enabled: true }, scopes: { down: { enabled: true, readOnly: true } } },
  ];
}

/** Setups of `maintenance()`: the shortcut's own conditions, and every bypass rule decide() has. */
const SETUPS: ReadonlyArray<{ name: string; options: MaintenanceOptions }> = [
  { name: 'no options', options: {} },
  {
    name: 'bypass rules',
    options: {
      ignoreStaff: true,
      ignoreSuperuser: true,
      ignoreAdminSite: true,
      ignoreTests: true,
      ignoreIpAddresses: ['10.0.0.0/8'],
      ignoreUrls: ['/public'],
      redirectUrl: '/down',
    },
  },
  { name: 'anonymous users let through', options: { ignoreAnonymousUser: true } },
  { name: 'signed-in users let through', options: { ignoreAuthenticatedUser: true } },
  { name: 'health paths', options: { healthPaths: ['/healthz'] } },
  { name: 'a bypass secret', options: { bypass: { secret: OPTION_SECRET } } },
  { name: 'announcements', options: { announceBeforeSeconds: 3600 } },
];

/** What the middleware would gather about `req` (the oracle of `gatherFacts`; `nodeEnv` given by the caller). */
function factsOf(req: Req, config: MaintenanceConfig, state: MaintenanceState, nodeEnv: string | undefined) {
  const path = normalizePath(req.path ?? '/');
  const method = req.method ?? 'GET';
  const facts: RequestFacts = {
    path,
    host: 'site.test',
    method,
    isHealthPath: config.healthPaths.includes(path),
    forced: req.route === 'on' || req.route === 'off' ? req.route : undefined,
    isToggleOffRoute: req.route === 'toggle-off',
    isPreflight: req.preflight === true,
    hasBypass:
      (req.bypass === 'option' && config.bypass !== undefined) ||
      (req.bypass === 'window' && state.bypassHash === hashSecret(WINDOW_SECRET)),
    user: req.user,
    ip: normalizeIp(req.ip ?? '127.0.0.1'),
    nodeEnv: config.ignoreTests ? nodeEnv : undefined,
  };
  return facts;
}

/**
 * What the middleware does for `req` besides decide(): the bypass door at a secret URL, a health path (served when the
 * app does not), an announcement, a tagged route's look-up. The shortcut skips all of it, so none may apply.
 */
function sideWork(req: Req, config: MaintenanceConfig, state: MaintenanceState, now: Date): string[] {
  const work: string[] = [];
  const path = req.path ?? '/';
  if (config.bypass !== undefined && path === `/${OPTION_SECRET}`) work.push("the app's bypass door");
  if (state.bypassHash !== undefined && path === `/${WINDOW_SECRET}`) work.push("the window's bypass door");
  if (config.healthPaths.includes(path)) work.push('a health path');
  if (config.announceBeforeSeconds > 0 && startsWithin(state, now, config.announceBeforeSeconds * 1000)) {
    work.push('an announcement');
  }
  if (req.route !== undefined) work.push('a tagged route');
  return work;
}

/** `target`, recording the name of every property read from it as `label.name`. */
function recording<T extends object>(target: T, label: string, reads: Set<string>): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      reads.add(`${label}.${String(key)}`);
      return Reflect.get(t, key, receiver);
    },
  });
}

/**
 * What decide() may look at for a request the shortcut lets through: the two facts the shortcut pins (a direct setup
 * has no health path; no route is tagged, so none is forced) and the state's window, which the shortcut reads too.
 */
const UNSEEN_READS = new Set([
  'facts.isHealthPath',
  'facts.forced',
  'state.enabled',
  'state.start',
  'state.end',
  'state.leaseUntil',
]);

interface Case {
  readonly req: Req;
  readonly world: World;
  readonly setup: (typeof SETUPS)[number];
  readonly tagged: boolean;
}

function* cases(worlds: readonly World[]): Generator<Case> {
  for (const setup of SETUPS) {
    for (const world of worlds) {
      for (const req of REQUESTS) {
        if (req.route === undefined) yield { req, world, setup, tagged: false };
        yield { req, world, setup, tagged: true }; // a tagged route exists only where some route is tagged
      }
    }
  }
}

describe('the shortcut past decide() (core/fast-path.ts) agrees with decide()', () => {
  const NOW = new Date('2026-06-01T12:00:00Z');
  const worlds = states(NOW.getTime());

  it('lets a request through unseen only where decide() passes it with STATE_OFF, reading nothing else', () => {
    const reached = new Set<string>();
    let unseen = 0;
    let total = 0;
    for (const { req, world, setup, tagged } of cases(worlds)) {
      const config = resolveOptions(setup.options);
      const policy: DecisionPolicy = { config, rules: compileRules(config) };
      const shortcut = shortcutSetup(config, { taggedRoutes: () => tagged, now: () => NOW });
      const scoped = req.scope === undefined ? undefined : world.scopes?.[req.scope];
      const fast =
        req.scope === undefined
          ? passesUnseen(shortcut, world.global)
          : passesUnseenInScope(shortcut, world.global, scoped);
      const state = stateInForce(world.global, scoped, req.scope, NOW).state;
      const facts = factsOf(req, config, state, req.nodeEnv);
      const decision = decide(facts, state, policy, NOW);
      reached.add(decision.rule);
      total++;
      if (!fast) continue;
      unseen++;
      const where = `${req.name} (${tagged ? 'routes tagged' : 'no route tagged'}), ${world.name}, ${setup.name}`;
      expect(decision, where).to.equal(STATE_OFF);
      expect(sideWork(req, config, state, NOW), where).to.deep.equal([]);
      const reads = new Set<string>();
      const again = decide(
        recording(facts, 'facts', reads),
        recording(state, 'state', reads),
        recording(policy, 'policy', reads),
        NOW,
      );
      expect(again, where).to.equal(STATE_OFF);
      expect(
        [...reads].filter((r) => !UNSEEN_READS.has(r)),
        `${where}: decide() read more`,
      ).to.deep.equal([]);
    }
    // Not vacuous: the shortcut is taken and refused, and the table reaches every rule decide() has.
    expect(unseen).to.be.greaterThan(100);
    expect(unseen).to.be.lessThan(total / 2);
    const rules = [...PASS_RULES.filter((r) => r !== 'released'), 'forced-on', 'maintenance'];
    expect(
      rules.filter((r) => !reached.has(r)),
      'rules no row reaches',
    ).to.deep.equal([]);
  });

  it('is refused for every setup condition it names: health paths, a bypass secret, a due announcement, tagged routes', () => {
    const off: MaintenanceState = { enabled: false };
    const soon: MaintenanceState = { enabled: true, start: new Date(NOW.getTime() + HOUR / 6).toISOString() };
    const made = (options: MaintenanceOptions, tagged = false) =>
      shortcutSetup(resolveOptions(options), { taggedRoutes: () => tagged, now: () => NOW });
    expect(passesUnseen(made({}), off)).to.equal(true);
    expect(passesUnseen(made({}), soon)).to.equal(true);
    expect(passesUnseen(made({ healthPaths: ['/healthz'] }), off)).to.equal(false);
    expect(passesUnseen(made({ bypass: { secret: OPTION_SECRET } }), off)).to.equal(false);
    expect(passesUnseen(made({ announceBeforeSeconds: 3600 }), off)).to.equal(true);
    expect(passesUnseen(made({ announceBeforeSeconds: 3600 }), soon)).to.equal(false);
    expect(passesUnseen(made({}, true), off)).to.equal(false);
    expect(passesUnseenInScope(made({}), off, { enabled: true })).to.equal(false);
  });
});

/** A Koa app with `maintenance(options)` over `world`'s states, echoing what a passed request was told; listening. */
async function appOver(world: World, options: MaintenanceOptions, routes: boolean) {
  const keyv = new Keyv();
  await keyv.set('maintenance_mode_state', world.global);
  if (world.scopes) await keyv.set('maintenance_mode_scopes', world.scopes);
  const service = new MaintenanceService({ store: keyv, logger: captureLogger() });
  const app = new Koa();
  app.silent = true;
  app.use(
    maintenance({
      ...options,
      service,
      presence: false,
      exposeDecision: true,
      getUser: (ctx) => (ctx.get('x-test-user') ? JSON.parse(ctx.get('x-test-user')) : undefined),
      getClientIpAddress: (ctx) => ctx.get('x-test-ip') || '127.0.0.1',
    }),
  );
  const echo = (ctx: Koa.Context) => {
    ctx.body = { upcoming: ctx.state.maintenanceUpcoming !== undefined };
  };
  if (routes) {
    const router = new Router();
    router.get('/forced-on', forceMaintenance('on'), echo);
    router.get('/forced-off', forceMaintenance('off'), echo);
    router.get(
      '/maintenance/off',
      tagMiddleware(async (_ctx, next) => next(), { toggleOff: true }),
      echo,
    );
    app.use(router.routes());
  }
  app.use(echo);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = async () => {
    await service.close();
    server.closeAllConnections();
    server.close();
  };
  return { base, close };
}

/** What the middleware answered `req`: the bypass door, or the decision it exposed, and whether it announced. */
async function outcome(base: string, req: Req) {
  const headers: Record<string, string> = {};
  if (req.preflight) Object.assign(headers, { 'access-control-request-method': 'PUT', origin: 'http://other.test' });
  if (req.user) headers['x-test-user'] = JSON.stringify(req.user);
  if (req.ip) headers['x-test-ip'] = req.ip;
  if (req.scope) headers['x-tenant'] = req.scope;
  if (req.bypass) headers[BYPASS_DEFAULTS.header] = req.bypass === 'option' ? OPTION_SECRET : WINDOW_SECRET;
  const res = await fetch(`${base}${req.path ?? '/'}`, { method: req.method ?? 'GET', headers, redirect: 'manual' });
  const text = await res.text();
  if ((res.headers.get('set-cookie') ?? '').includes(BYPASS_DEFAULTS.cookieName)) return { door: true };
  const exposed = /^(pass|blocked); rule=([\w-]+)/.exec(res.headers.get('x-maintenance-decision') ?? '');
  const upcoming = res.status === 200 && (JSON.parse(text) as { upcoming?: boolean }).upcoming === true;
  return { blocked: exposed?.[1] === 'blocked', rule: exposed?.[2], upcoming };
}

/** What decide() and the middleware's side work say the answer to `req` must be. */
function expected(req: Req, world: World, options: MaintenanceOptions, scoped: boolean) {
  const config = resolveOptions(options);
  const now = new Date();
  const scope = scoped ? req.scope : undefined;
  const state = stateInForce(world.global, scope === undefined ? undefined : world.scopes?.[scope], scope, now).state;
  const work = sideWork(req, config, state, now);
  if (work.some((w) => w.endsWith('door'))) return { door: true };
  const facts = factsOf(req, config, state, process.env.NODE_ENV);
  const d = decide(facts, state, { config, rules: compileRules(config) }, now);
  // Announced on the way to the app while the state is off for the request (not on a health path or forced route).
  return { blocked: d.blocked, rule: d.rule, upcoming: d.rule === 'state-off' && work.includes('an announcement') };
}

describe('the middleware answers the same table as decide()', () => {
  const worlds = states(Date.now());

  /** Runs `requests` against an app per setup, state and scope option (all of one app's requests at once). */
  async function runTable(routes: boolean, requests: readonly Req[]) {
    let checked = 0;
    for (const setup of SETUPS) {
      for (const world of worlds) {
        for (const scoped of [false, true]) {
          const options = scoped
            ? { ...setup.options, scope: (ctx: Koa.Context) => ctx.get('x-tenant') || undefined }
            : setup.options;
          const mine = requests.filter((r) => (r.route === undefined || routes) && (r.scope === undefined || scoped));
          const app = await appOver(world, options, routes);
          try {
            const seen = await Promise.all(mine.map((req) => outcome(app.base, req)));
            mine.forEach((req, i) => {
              const where = `${req.name}, ${world.name}, ${setup.name}${scoped ? ', scoped' : ''}`;
              expect(seen[i], where).to.deep.equal(expected(req, world, options, scoped));
            });
            checked += mine.length;
          } finally {
            await app.close();
          }
        }
      }
    }
    return checked;
  }

  // Routes tagged anywhere in the process turn the shortcut off for good, so the untagged table runs first (when this
  // file runs alone, nothing is tagged before it: the shortcut is taken; in the whole suite it may not be).
  it('for every request, state and setup, before any route is tagged here', async function () {
    this.timeout(120_000);
    // The test runner row needs NODE_ENV set per request: decide() alone covers it.
    expect(
      await runTable(
        false,
        REQUESTS.filter((r) => r.nodeEnv === undefined),
      ),
    ).to.be.greaterThan(3000);
  });

  it('and with forced routes and the toggle routes’ off URL tagged', async function () {
    this.timeout(120_000);
    const some = REQUESTS.filter((r) => r.route !== undefined || r.name === 'GET /' || r.scope !== undefined);
    expect(await runTable(true, some)).to.be.greaterThan(800);
  });
});
