/** Options of `maintenance()`, the Koa middleware: the public type, the defaults, and the resolver that validates them once. */
import type { ParameterizedContext } from 'koa';
import type { DecisionTrace, MaintenanceUser } from '../core/decide.js';
import { MaintenanceError } from '../core/errors.js';
import { CATALOG_KEYS, CATALOGS, type Catalog, LOCALE_TAG, REQUIRED_CATALOG_KEYS } from '../core/i18n.js';
import { ipEntryProblem } from '../core/ip.js';
import { LIVE_RELOAD_DEFAULTS } from '../core/live.js';
import { isPresenceInterval, PRESENCE_DEFAULTS, PRESENCE_INTERVAL_BOUNDS } from '../core/presence.js';
import { trimSlash } from '../core/rules.js';
import { checkScopeName } from '../core/scope.js';
import { invalidOption, type KeysOfType, knownEntries, type NamesEveryKey } from '../core/validate.js';
import type { MaintenanceService } from '../service/service.js';

/** The Koa context the hooks receive. */
export type MaintenanceContext = ParameterizedContext;

/** How the maintenance answer is written: an HTML page, a JSON body or an RFC 9457 problem document. */
export type MaintenanceResponseKind = 'html' | 'json' | 'problem';

/** Laravel-style bypass: a secret URL sets a signed cookie; API clients send a header. */
export interface BypassOptions {
  /** At least 16 characters; visiting `/<secret>` sets the cookie. Keep it out of logs and repositories. */
  readonly secret: string;
  /** Lifetime of the cookie in seconds. @default 43200 (12 hours) */
  readonly ttlSeconds?: number;
  /** Header that carries the secret for API clients. @default 'x-maintenance-bypass' */
  readonly header?: string;
  /** Name of the signed cookie. @default 'maintenance_bypass' */
  readonly cookieName?: string;
}

/** Options for `maintenance()`. Every field is optional; names mirror django-maintenance-mode's settings. */
export interface MaintenanceOptions {
  /** Where the state is read. @default Container.get(MaintenanceService) */
  readonly service?: MaintenanceService;
  /** Let the admin site (`adminPath` and below) through. @default false */
  readonly ignoreAdminSite?: boolean;
  /** Path of the admin site, used with `ignoreAdminSite`. @default '/admin' */
  readonly adminPath?: string;
  /** Let requests without a user through. @default false */
  readonly ignoreAnonymousUser?: boolean;
  /** Let any authenticated user through. @default false */
  readonly ignoreAuthenticatedUser?: boolean;
  /** Let users with `isStaff` through. @default false */
  readonly ignoreStaff?: boolean;
  /** Let users with `isSuperuser` through. @default false */
  readonly ignoreSuperuser?: boolean;
  /** Finds the request's user. @default (ctx) => ctx.state.user */
  readonly getUser?: (ctx: MaintenanceContext) => MaintenanceUser | undefined | Promise<MaintenanceUser | undefined>;
  /** Log out authenticated users whose request is blocked. @default false */
  readonly logoutAuthenticatedUser?: boolean;
  /** Log out staff whose request is blocked. @default logoutAuthenticatedUser */
  readonly logoutStaffUser?: boolean;
  /** Log out superusers whose request is blocked. @default logoutAuthenticatedUser */
  readonly logoutSuperuser?: boolean;
  /** Ends the session. @default ctx.logout?.(), then ctx.session = null and ctx.state.user = undefined */
  readonly logout?: (ctx: MaintenanceContext) => void | Promise<void>;
  /** Client addresses that pass: exact IPv4/IPv6, CIDR (`'10.0.0.0/8'`) or RegExp tested on the address. @default [] */
  readonly ignoreIpAddresses?: ReadonlyArray<string | RegExp>;
  /** Finds the client address. Behind a proxy set `app.proxy = true` instead of parsing headers here. @default (ctx) => ctx.ip */
  readonly getClientIpAddress?: (ctx: MaintenanceContext) => string | undefined;
  /** Paths that pass: string prefixes on a segment boundary (`'/api'` passes `/api`, `/api/x`, not `/apix`) or RegExp. @default [] */
  readonly ignoreUrls?: ReadonlyArray<string | RegExp>;
  /** Let every request through while `NODE_ENV === 'test'`. @default false */
  readonly ignoreTests?: boolean;
  /** Answer blocked requests with a 302 to this path or URL instead of the page; the target itself is served. @default undefined */
  readonly redirectUrl?: string;
  /**
   * HTML page, JSON body, RFC 9457 `application/problem+json`, `'auto'` (the best of the three for `Accept`, with
   * `Vary: Accept`) or a function choosing per request. @default 'html'
   */
  readonly responseType?: 'html' | 'json' | 'problem' | 'auto' | ((ctx: MaintenanceContext) => MaintenanceResponseKind);
  /** Nunjucks template of the page, looked up in `viewsDir` first, then in the packaged `views/`. @default '503.html' */
  readonly template?: string;
  /** Directories of your templates, searched before the packaged views. @default [] */
  readonly viewsDir?: string | readonly string[];
  /** Extra variables for the page (and fields of the JSON body). @default undefined */
  readonly getContext?: (ctx: MaintenanceContext) => object | Promise<object>;
  /** Status of the maintenance answer. @default 503 */
  readonly statusCode?: number;
  /** `Retry-After` seconds; `null` or `0` sends none. A scheduled end wins and is sent as an HTTP date. @default 3600 */
  readonly retryAfter?: number | null;
  /**
   * Liveness/readiness paths that always answer (GET and HEAD), so orchestrators do not restart or drain instances
   * during maintenance; `true` means `['/healthz', '/readyz']`. When the app has no handler there, the middleware
   * answers 200 `{ "status": "ok", "maintenance": <boolean> }` itself. @default [] (none)
   */
  readonly healthPaths?: readonly string[] | true;
  /** Secret URL / header that lets people and API clients through (a signed, expiring cookie). @default undefined */
  readonly bypass?: BypassOptions;
  /** Send `X-Maintenance-Decision: pass|blocked; rule=<rule>` on every response (for debugging). @default false */
  readonly exposeDecision?: boolean;
  /**
   * The scope of the requests this middleware sees: a name for a router or mount (`'billing'`), or a function
   * returning the request's scope (`(ctx) => ctx.state.tenantId`; sync or async, undefined for none). A request is in
   * maintenance when the global state or its scope's state is active. @default undefined (global state only)
   */
  readonly scope?: string | ((ctx: MaintenanceContext) => string | undefined | Promise<string | undefined>);
  /**
   * Announce a scheduled window this many seconds before it starts: requests that pass meanwhile carry
   * `ctx.state.maintenanceUpcoming = { start, end?, message?, scope?, startText, endText?, startLabel, endLabel? }`
   * (`…Label`: in the visitor's language, the zone named; render it with the
   * packaged `maintenance-banner.html` partial or `maintenanceBanner()`). 0 announces nothing. @default 0
   */
  readonly announceBeforeSeconds?: number;
  /**
   * Hold and release: a request that would get the maintenance answer waits (up to `maxMs`) for maintenance to end
   * and then goes on to the app as if nothing happened; after `maxMs`, or when `maxHeld` requests already wait, it
   * gets the maintenance answer. A client that disconnects is dropped at once. Forced-on routes are never held. When
   * maintenance ends, the held requests go back to the app spread over `releaseSpreadMs`, in arrival order.
   * @default undefined (off); `maxHeld` defaults to 1000, `releaseSpreadMs` to 1000
   */
  readonly hold?: HoldOptions;
  /**
   * Called for every request decided while a state is active or its route is forced, with the decision (`rule`,
   * `blocked`, `scope`, `wouldBlock` in a dry run): count dry-run hits, export metrics. Synchronous; a hook that throws
   * is reported through `app.emit('error')`, never thrown into the request. @default undefined
   */
  readonly onDecision?: (ctx: MaintenanceContext, decision: DecisionTrace) => void;
  /**
   * Texts to add or override, by language tag: `{ de: { heading: 'Gleich zurück' }, sv: { …every key… } }`. A new
   * language needs every key of the catalog (see `CATALOGS.en`); an existing one may override some. @default {}
   */
  readonly translations?: Readonly<Record<string, Partial<Catalog>>>;
  /** The languages the answer may be in, chosen by `Accept-Language`. @default every built-in and added language */
  readonly locales?: readonly string[];
  /** The language when `Accept-Language` names none of `locales`. @default 'en' */
  readonly defaultLocale?: string;
  /**
   * The fleet: with Redis, PostgreSQL or the file store, the service joins its store's fleet when this middleware
   * serves its first request, and reports what it has applied and what it still runs (see `service.waitForFleet()`)
   * every `intervalMs` and at once after each change (on the file store its record appears only once the state file's
   * fleet is opened: by a switch, or a look at the fleet). `false` keeps this instance out of the fleet (and counts
   * nothing). @default { intervalMs: 5000 }
   */
  readonly presence?: PresenceOptions | false;
  /**
   * Live pages: the 503 page and the announcement banner load `<prefix>/live.js` (served by the routes, nothing inline,
   * so `Content-Security-Policy: script-src 'self'` allows it) and follow `<prefix>/events`. The page returns to the
   * site by itself once maintenance is over for it, after a random delay in `[0, jitterMs]` (open pages do not all
   * come back in the same second); the banner appears, changes and disappears without a reload. Without JavaScript
   * the page behaves as without it. `false` leaves the pages as they were (no script). The routes must serve events:
   * `maintenanceRoutes({ publicStatus: true })` or `{ live: true }`. @default { jitterMs: 10000 }
   */
  readonly liveReload?: LiveReloadOptions | false;
  /**
   * Adds a random 0…N seconds to the `Retry-After` of each blocked answer (to the seconds, or to the HTTP date of a
   * scheduled end), so clients that honour it do not all retry in the same second; the body keeps the value without
   * it. 0 sends the value as it is. @default 0
   */
  readonly retryAfterJitterSeconds?: number;
}

/** Options of `liveReload`. */
export interface LiveReloadOptions {
  /** The page returns after a random delay of up to this many milliseconds (0–600000). @default 10000 */
  readonly jitterMs?: number;
  /**
   * Where the live routes are mounted (`maintenanceRoutes({ prefix })`), e.g. `'/maintenance-mode'`. @default the
   * prefix of the routes with `live` on built in this process (`maintenanceRoutes()` or
   * `createMaintenanceController()`; `'/maintenance-mode'` when those were built, else the first); while none is,
   * the pages carry no script
   */
  readonly prefix?: string;
}

/** Options of `presence`. */
export interface PresenceOptions {
  /** How often the instance reports, in milliseconds (100–600000); stale after 3 missed reports. @default 5000 */
  readonly intervalMs?: number;
}

/** Options of `hold`. */
export interface HoldOptions {
  /** Longest wait of one request, in milliseconds (1–600000). */
  readonly maxMs: number;
  /** Most requests held at once by one `maintenance()`; the next ones get the maintenance answer. @default 1000 */
  readonly maxHeld?: number;
  /**
   * Most requests held at once for one client (an IPv4 address, or an IPv6 /64; from `getClientIpAddress` or
   * `ctx.ip`), so one client cannot fill `maxHeld` and leave nobody else held. @default maxHeld / 10, rounded up
   */
  readonly maxHeldPerClient?: number;
  /**
   * When maintenance ends, the held requests go back to the app spread evenly over this many milliseconds, in arrival
   * order (the earliest first), so an app just back does not get them all in one burst; 0 lets them all through at
   * once. Until its turn a request is still held: past its `maxMs` it gets the maintenance answer, as any hold that
   * times out; a client that leaves is dropped; maintenance on again keeps those not yet let through held. A whole
   * number from 0 to `maxMs`. @default 1000 (or `maxMs` when that is shorter)
   */
  readonly releaseSpreadMs?: number;
}

/** Default values of {@link MaintenanceOptions}; the JSDoc `@default` tags restate these. */
export const DEFAULTS = Object.freeze({
  ignoreAdminSite: false,
  adminPath: '/admin',
  ignoreAnonymousUser: false,
  ignoreAuthenticatedUser: false,
  ignoreStaff: false,
  ignoreSuperuser: false,
  logoutAuthenticatedUser: false,
  ignoreIpAddresses: [] as ReadonlyArray<string | RegExp>,
  ignoreUrls: [] as ReadonlyArray<string | RegExp>,
  ignoreTests: false,
  responseType: 'html' as const,
  template: '503.html',
  viewsDir: [] as readonly string[],
  statusCode: 503,
  retryAfter: 3600 as number | null,
  healthPaths: [] as readonly string[],
  exposeDecision: false,
  announceBeforeSeconds: 0,
  retryAfterJitterSeconds: 0,
});

/** Defaults of {@link HoldOptions}. */
export const HOLD_DEFAULTS = Object.freeze({ maxHeld: 1000, releaseSpreadMs: 1000 });

/** `healthPaths: true` stands for these. */
export const DEFAULT_HEALTH_PATHS: readonly string[] = Object.freeze(['/healthz', '/readyz']);

/** Defaults of {@link BypassOptions}. */
export const BYPASS_DEFAULTS = Object.freeze({
  ttlSeconds: 43200,
  header: 'x-maintenance-bypass',
  cookieName: 'maintenance_bypass',
});

/** {@link MaintenanceOptions} after validation: complete and read-only. */
export interface MaintenanceConfig {
  readonly service?: MaintenanceService;
  readonly ignoreAdminSite: boolean;
  readonly adminPath: string;
  readonly ignoreAnonymousUser: boolean;
  readonly ignoreAuthenticatedUser: boolean;
  readonly ignoreStaff: boolean;
  readonly ignoreSuperuser: boolean;
  /** As {@link MaintenanceOptions.getUser}. */
  readonly getUser?: MaintenanceOptions['getUser'];
  readonly logoutAuthenticatedUser: boolean;
  readonly logoutStaffUser: boolean;
  readonly logoutSuperuser: boolean;
  /** As {@link MaintenanceOptions.logout}. */
  readonly logout?: MaintenanceOptions['logout'];
  readonly ignoreIpAddresses: ReadonlyArray<string | RegExp>;
  /** As {@link MaintenanceOptions.getClientIpAddress}. */
  readonly getClientIpAddress?: MaintenanceOptions['getClientIpAddress'];
  readonly ignoreUrls: ReadonlyArray<string | RegExp>;
  readonly ignoreTests: boolean;
  readonly redirectUrl?: string;
  /** As {@link MaintenanceOptions.responseType}. */
  readonly responseType: NonNullable<MaintenanceOptions['responseType']>;
  readonly template: string;
  readonly viewsDir: readonly string[];
  /** As {@link MaintenanceOptions.getContext}. */
  readonly getContext?: MaintenanceOptions['getContext'];
  readonly statusCode: number;
  readonly retryAfter: number | null;
  readonly healthPaths: readonly string[];
  readonly bypass?: Required<BypassOptions>;
  readonly exposeDecision: boolean;
  /** As {@link MaintenanceOptions.scope}. */
  readonly scope?: MaintenanceOptions['scope'];
  readonly announceBeforeSeconds: number;
  readonly hold?: Required<HoldOptions>;
  /** As {@link MaintenanceOptions.presence}: the interval, or false. */
  readonly presence: Required<PresenceOptions> | false;
  /** As {@link MaintenanceOptions.onDecision}. */
  readonly onDecision?: MaintenanceOptions['onDecision'];
  /** As {@link MaintenanceOptions.liveReload}: the jitter and the prefix when given, or false. */
  readonly liveReload: Readonly<{ jitterMs: number; prefix?: string }> | false;
  readonly retryAfterJitterSeconds: number;
  /** Every available catalog, complete (built-ins with the overrides, and added languages). */
  readonly catalogs: Readonly<Record<string, Catalog>>;
  readonly locales: readonly string[];
  readonly defaultLocale: string;
}

/** The names of every `maintenance()` option (the README's table lists exactly these). */
export const KNOWN_KEYS = [
  'service',
  'ignoreAdminSite',
  'adminPath',
  'ignoreAnonymousUser',
  'ignoreAuthenticatedUser',
  'ignoreStaff',
  'ignoreSuperuser',
  'getUser',
  'logoutAuthenticatedUser',
  'logoutStaffUser',
  'logoutSuperuser',
  'logout',
  'ignoreIpAddresses',
  'getClientIpAddress',
  'ignoreUrls',
  'ignoreTests',
  'redirectUrl',
  'responseType',
  'template',
  'viewsDir',
  'getContext',
  'statusCode',
  'retryAfter',
  'healthPaths',
  'bypass',
  'exposeDecision',
  'scope',
  'announceBeforeSeconds',
  'hold',
  'presence',
  'onDecision',
  'translations',
  'locales',
  'defaultLocale',
  'liveReload',
  'retryAfterJitterSeconds',
] as const satisfies readonly (keyof MaintenanceOptions)[];
/** Compiles only while {@link KNOWN_KEYS} names every option of {@link MaintenanceOptions}. */
const everyOptionListed: NamesEveryKey<MaintenanceOptions, typeof KNOWN_KEYS> = true;
void everyOptionListed;

const BOOLEAN_KEYS = [
  'ignoreAdminSite',
  'ignoreAnonymousUser',
  'ignoreAuthenticatedUser',
  'ignoreStaff',
  'ignoreSuperuser',
  'logoutAuthenticatedUser',
  'logoutStaffUser',
  'logoutSuperuser',
  'ignoreTests',
  'exposeDecision',
] as const satisfies readonly KeysOfType<MaintenanceOptions, boolean>[];
/** Compiles only while {@link BOOLEAN_KEYS} names every boolean option. */
const everyBooleanListed: NamesEveryKey<
  Pick<MaintenanceOptions, KeysOfType<MaintenanceOptions, boolean>>,
  typeof BOOLEAN_KEYS
> = true;
void everyBooleanListed;

const FUNCTION_KEYS = [
  'getUser',
  'logout',
  'getClientIpAddress',
  'getContext',
  'onDecision',
] as const satisfies readonly KeysOfType<MaintenanceOptions, (...args: never[]) => unknown>[];
/** Compiles only while {@link FUNCTION_KEYS} names every option that is only a function. */
const everyFunctionListed: NamesEveryKey<
  Pick<MaintenanceOptions, KeysOfType<MaintenanceOptions, (...args: never[]) => unknown>>,
  typeof FUNCTION_KEYS
> = true;
void everyFunctionListed;

/** True when `value` looks like a Koa context (someone wrote `app.use(maintenance)`). */
function looksLikeKoaContext(value: object): boolean {
  return 'app' in value && 'req' in value && 'res' in value;
}

/** Rejects `g`/`y` flags: they make `RegExp.test` stateful, so the same path would pass and then fail. */
function checkRegExp(name: string, re: RegExp): void {
  if (re.global || re.sticky) {
    invalidOption(name, 'must not use the g or y flag (it makes RegExp.test() stateful); drop the flag', re);
  }
}

function checkPath(name: string, p: unknown): string {
  if (typeof p !== 'string' || !p.startsWith('/')) invalidOption(name, 'must be a path starting with "/"', p);
  return p;
}

function pathList(name: string, value: unknown, itemCheck: (item: string, label: string) => void) {
  if (!Array.isArray(value)) invalidOption(name, 'must be an array of strings and RegExps', value);
  return value.map((item: unknown, i: number) => {
    const label = `${name}[${i}]`;
    if (item instanceof RegExp) {
      checkRegExp(label, item);
      return item;
    }
    if (typeof item !== 'string') invalidOption(label, 'must be a string or a RegExp', item);
    itemCheck(item, label);
    return item;
  }) as ReadonlyArray<string | RegExp>;
}

type Entries = Record<string, unknown>;

function checkShape(input: unknown): Entries {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    invalidOption('maintenance(options)', 'takes an options object', input);
  }
  if (looksLikeKoaContext(input)) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_MISUSE',
      'maintenance was called with a Koa context. Write `app.use(maintenance())`, not `app.use(maintenance)`.',
    );
  }
  const o = knownEntries(input, KNOWN_KEYS, 'maintenance()');
  for (const key of BOOLEAN_KEYS) {
    if (key in o && typeof o[key] !== 'boolean') invalidOption(key, 'must be true or false', o[key]);
  }
  for (const key of FUNCTION_KEYS) {
    if (key in o && typeof o[key] !== 'function') invalidOption(key, 'must be a function', o[key]);
  }
  if ('service' in o) {
    const s = o.service as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || typeof s.getState !== 'function') {
      invalidOption('service', 'must be a MaintenanceService (e.g. new MaintenanceService({ store }))', s);
    }
  }
  return o;
}

/** The user rules and logout flags (staff and superusers inherit `logoutAuthenticatedUser` when unset). */
function resolveUsers(o: Entries) {
  const bool = (k: (typeof BOOLEAN_KEYS)[number]) => (o[k] as boolean | undefined) ?? false;
  const logoutAuthenticatedUser = bool('logoutAuthenticatedUser');
  return {
    ignoreAnonymousUser: bool('ignoreAnonymousUser'),
    ignoreAuthenticatedUser: bool('ignoreAuthenticatedUser'),
    ignoreStaff: bool('ignoreStaff'),
    ignoreSuperuser: bool('ignoreSuperuser'),
    getUser: o.getUser as MaintenanceConfig['getUser'],
    logoutAuthenticatedUser,
    logoutStaffUser: (o.logoutStaffUser as boolean | undefined) ?? logoutAuthenticatedUser,
    logoutSuperuser: (o.logoutSuperuser as boolean | undefined) ?? logoutAuthenticatedUser,
    logout: o.logout as MaintenanceConfig['logout'],
  };
}

/** The admin site, IP and URL exemptions. */
function resolveExemptions(o: Entries) {
  const adminPath = trimSlash(checkPath('adminPath', o.adminPath ?? DEFAULTS.adminPath));
  if (adminPath === '/') invalidOption('adminPath', 'must not be "/" (that would exempt every page)', o.adminPath);
  const ignoreIpAddresses = pathList('ignoreIpAddresses', o.ignoreIpAddresses ?? DEFAULTS.ignoreIpAddresses, (s, l) => {
    const problem = ipEntryProblem(s);
    if (problem) invalidOption(l, `must be an IP address, a CIDR like "10.0.0.0/8" or a RegExp: ${problem}`, s);
  });
  const ignoreUrls = pathList('ignoreUrls', o.ignoreUrls ?? DEFAULTS.ignoreUrls, (s, l) => {
    checkPath(l, s);
    if (trimSlash(s) === '/') {
      invalidOption(l, 'must not be "/": every path starts with it, so maintenance would never show', s);
    }
  });
  return {
    ignoreAdminSite: (o.ignoreAdminSite as boolean | undefined) ?? DEFAULTS.ignoreAdminSite,
    adminPath,
    ignoreIpAddresses,
    getClientIpAddress: o.getClientIpAddress as MaintenanceConfig['getClientIpAddress'],
    ignoreUrls,
    ignoreTests: (o.ignoreTests as boolean | undefined) ?? DEFAULTS.ignoreTests,
  };
}

function resolveRedirect(o: Entries): string | undefined {
  if (!('redirectUrl' in o)) return undefined;
  const r = o.redirectUrl;
  if (typeof r !== 'string' || !(r.startsWith('/') || /^https?:\/\//i.test(r)) || r.startsWith('//')) {
    invalidOption('redirectUrl', 'must be a path ("/maintenance") or an absolute http(s) URL', r);
  }
  if (r.startsWith('/') && trimSlash(new URL(r, 'http://localhost').pathname) === '/') {
    invalidOption(
      'redirectUrl',
      'must not target "/": the target is always served, so maintenance would be skipped',
      r,
    );
  }
  return r;
}

/** How the maintenance answer is written: kind, template, status and Retry-After. */
function resolveAnswer(o: Entries) {
  const responseType = o.responseType ?? DEFAULTS.responseType;
  if (typeof responseType !== 'function' && !['html', 'json', 'problem', 'auto'].includes(responseType as string)) {
    invalidOption(
      'responseType',
      "must be 'html', 'json', 'problem', 'auto' or a function returning 'html' | 'json' | 'problem'",
      responseType,
    );
  }
  const template = o.template ?? DEFAULTS.template;
  if (typeof template !== 'string' || template.trim() === '') {
    invalidOption('template', 'must be a template file name such as "503.html"', template);
  }
  const rawViews = o.viewsDir ?? DEFAULTS.viewsDir;
  const viewsDir = typeof rawViews === 'string' ? [rawViews] : rawViews;
  if (!Array.isArray(viewsDir) || viewsDir.some((d) => typeof d !== 'string' || d === '')) {
    invalidOption('viewsDir', 'must be a directory path or an array of them', rawViews);
  }
  const statusCode = o.statusCode ?? DEFAULTS.statusCode;
  if (!Number.isInteger(statusCode) || (statusCode as number) < 100 || (statusCode as number) > 599) {
    invalidOption('statusCode', 'must be an integer HTTP status between 100 and 599 (usually 503)', statusCode);
  }
  const retryAfter = 'retryAfter' in o ? o.retryAfter : DEFAULTS.retryAfter;
  if (retryAfter !== null && (!Number.isInteger(retryAfter) || (retryAfter as number) < 0)) {
    invalidOption(
      'retryAfter',
      'must be a whole number of seconds >= 0, or null for no Retry-After header',
      retryAfter,
    );
  }
  return {
    responseType: responseType as MaintenanceConfig['responseType'],
    template: template as string,
    viewsDir: Object.freeze([...(viewsDir as string[])]),
    getContext: o.getContext as MaintenanceConfig['getContext'],
    statusCode: statusCode as number,
    retryAfter: retryAfter === 0 ? null : (retryAfter as number | null),
  };
}

function resolveHealthPaths(o: Entries): readonly string[] {
  const raw = o.healthPaths ?? DEFAULTS.healthPaths;
  const paths = raw === true ? DEFAULT_HEALTH_PATHS : raw;
  if (!Array.isArray(paths)) invalidOption('healthPaths', 'must be true or an array of paths', raw);
  for (const [i, p] of (paths as unknown[]).entries()) {
    checkPath(`healthPaths[${i}]`, p);
    if (trimSlash(p as string) === '/') invalidOption(`healthPaths[${i}]`, 'must not be "/"', p);
  }
  return Object.freeze((paths as string[]).map(trimSlash));
}

function resolveAnnounce(raw: unknown): number {
  const seconds = raw ?? DEFAULTS.announceBeforeSeconds;
  if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 31_536_000) {
    invalidOption('announceBeforeSeconds', 'must be a whole number of seconds from 0 (off) to 31536000 (a year)', raw);
  }
  return seconds as number;
}

const HOLD_KEYS = [
  'maxMs',
  'maxHeld',
  'maxHeldPerClient',
  'releaseSpreadMs',
] as const satisfies readonly (keyof HoldOptions)[];
/** Compiles only while {@link HOLD_KEYS} names every option of {@link HoldOptions}. */
const everyHoldOptionListed: NamesEveryKey<HoldOptions, typeof HOLD_KEYS> = true;
void everyHoldOptionListed;

function resolveHold(raw: unknown): Required<HoldOptions> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    invalidOption('hold', 'must be an object such as { maxMs: 5000 }', raw);
  }
  const h = knownEntries(raw as object, HOLD_KEYS, 'hold');
  if (!Number.isInteger(h.maxMs) || (h.maxMs as number) < 1 || (h.maxMs as number) > 600_000) {
    invalidOption('hold.maxMs', 'must be a whole number of milliseconds from 1 to 600000 (e.g. 5000)', h.maxMs);
  }
  const maxHeld = h.maxHeld ?? HOLD_DEFAULTS.maxHeld;
  if (!Number.isInteger(maxHeld) || (maxHeld as number) < 1) {
    invalidOption('hold.maxHeld', 'must be a whole number of requests >= 1', maxHeld);
  }
  const perClient = h.maxHeldPerClient ?? Math.max(1, Math.ceil((maxHeld as number) / 10));
  if (!Number.isInteger(perClient) || (perClient as number) < 1) {
    invalidOption('hold.maxHeldPerClient', 'must be a whole number of requests >= 1', perClient);
  }
  const maxMs = h.maxMs as number;
  const spread = h.releaseSpreadMs ?? Math.min(HOLD_DEFAULTS.releaseSpreadMs, maxMs);
  if (!Number.isInteger(spread) || (spread as number) < 0 || (spread as number) > maxMs) {
    const expected = `must be a whole number of milliseconds from 0 (all at once) to hold.maxMs (${maxMs})`;
    invalidOption('hold.releaseSpreadMs', expected, spread);
  }
  return Object.freeze({
    maxMs,
    maxHeld: maxHeld as number,
    maxHeldPerClient: perClient as number,
    releaseSpreadMs: spread as number,
  });
}

function resolvePresence(raw: unknown): Required<PresenceOptions> | false {
  if (raw === false) return false;
  if (raw === undefined) return Object.freeze({ ...PRESENCE_DEFAULTS });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    invalidOption('presence', 'must be false or an object such as { intervalMs: 5000 }', raw);
  }
  const p = knownEntries(raw as object, ['intervalMs'], 'presence');
  const intervalMs = p.intervalMs ?? PRESENCE_DEFAULTS.intervalMs;
  if (!isPresenceInterval(intervalMs)) {
    const { min, max } = PRESENCE_INTERVAL_BOUNDS;
    invalidOption('presence.intervalMs', `must be a whole number of milliseconds from ${min} to ${max}`, intervalMs);
  }
  return Object.freeze({ intervalMs: intervalMs as number });
}

function resolveCatalogs(raw: unknown): Record<string, Catalog> {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    invalidOption('translations', 'must be an object of language tag → texts, e.g. { de: { heading: "…" } }', raw);
  }
  const catalogs: Record<string, Catalog> = { ...CATALOGS };
  for (const [locale, texts] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    if (!LOCALE_TAG.test(locale))
      invalidOption(`translations.${locale}`, 'must be keyed by a language tag such as "de" or "pt-BR"', locale);
    const t = knownEntries((texts ?? {}) as object, CATALOG_KEYS, `translations.${locale}`);
    for (const [k, v] of Object.entries(t)) {
      if (typeof v !== 'string' || v === '')
        invalidOption(`translations.${locale}.${k}`, 'must be a non-empty string', v);
    }
    const base = catalogs[locale] ?? catalogs[locale.split('-')[0]];
    const missing = base ? [] : REQUIRED_CATALOG_KEYS.filter((k) => !(k in t));
    if (missing.length > 0) {
      invalidOption(
        `translations.${locale}`,
        `is a new language and needs every text; missing ${missing.join(', ')}`,
        texts,
      );
    }
    catalogs[locale] = Object.freeze({ ...base, ...t }) as Catalog;
  }
  return catalogs;
}

function resolveLanguages(o: Entries) {
  const all = resolveCatalogs(o.translations);
  const locales = (o.locales ?? Object.keys(all)) as unknown;
  if (!Array.isArray(locales) || locales.length === 0) {
    invalidOption('locales', 'must be a non-empty array of language tags with a catalog, e.g. ["en", "de"]', locales);
  }
  for (const l of locales as unknown[]) {
    if (typeof l !== 'string' || !(l in all)) {
      invalidOption('locales', `names ${JSON.stringify(l)}, which has no catalog: add it with translations`, l);
    }
  }
  const defaultLocale = (o.defaultLocale ?? (locales.includes('en') ? 'en' : locales[0])) as unknown;
  if (typeof defaultLocale !== 'string' || !locales.includes(defaultLocale)) {
    invalidOption('defaultLocale', `must be one of locales (${locales.join(', ')})`, defaultLocale);
  }
  const catalogs = Object.freeze(Object.fromEntries((locales as string[]).map((l) => [l, all[l]])));
  return { catalogs, locales: Object.freeze([...(locales as string[])]), defaultLocale: defaultLocale as string };
}

function resolveLiveReload(raw: unknown): MaintenanceConfig['liveReload'] {
  if (raw === false) return false;
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    invalidOption('liveReload', 'must be false or an object such as { jitterMs: 10000 }', raw);
  }
  const l = knownEntries((raw ?? {}) as object, ['jitterMs', 'prefix'], 'liveReload');
  const jitterMs = l.jitterMs ?? LIVE_RELOAD_DEFAULTS.jitterMs;
  if (!Number.isInteger(jitterMs) || (jitterMs as number) < 0 || (jitterMs as number) > 600_000) {
    invalidOption(
      'liveReload.jitterMs',
      'must be a whole number of milliseconds from 0 to 600000 (e.g. 10000)',
      jitterMs,
    );
  }
  if (!('prefix' in l)) return Object.freeze({ jitterMs: jitterMs as number });
  const prefix = checkPath('liveReload.prefix', l.prefix);
  if (trimSlash(prefix) === '/') {
    invalidOption(
      'liveReload.prefix',
      'must be the prefix of the routes, such as "/maintenance-mode" (not "/")',
      prefix,
    );
  }
  return Object.freeze({ jitterMs: jitterMs as number, prefix: trimSlash(prefix) });
}

function resolveRetryJitter(raw: unknown): number {
  const seconds = raw ?? DEFAULTS.retryAfterJitterSeconds;
  if (!Number.isInteger(seconds) || (seconds as number) < 0 || (seconds as number) > 86_400) {
    invalidOption('retryAfterJitterSeconds', 'must be a whole number of seconds from 0 (none) to 86400', raw);
  }
  return seconds as number;
}

function resolveScope(raw: unknown): MaintenanceConfig['scope'] {
  if (raw === undefined || typeof raw === 'function') return raw as MaintenanceConfig['scope'];
  return checkScopeName(raw, "scope (a name, or a function returning the request's scope)");
}

/**
 * Validates `input` and fills in defaults. Keys set to `undefined` mean "use the default".
 * Throws {@link MaintenanceError} (`ERR_MAINTENANCE_INVALID_OPTION`) naming the option and the fix.
 */
export function resolveOptions(input: MaintenanceOptions = {}): MaintenanceConfig {
  const o = checkShape(input);
  return Object.freeze({
    service: o.service as MaintenanceService | undefined,
    ...resolveUsers(o),
    ...resolveExemptions(o),
    redirectUrl: resolveRedirect(o),
    ...resolveAnswer(o),
    healthPaths: resolveHealthPaths(o),
    bypass: 'bypass' in o ? resolveBypass(o.bypass) : undefined,
    exposeDecision: (o.exposeDecision as boolean | undefined) ?? DEFAULTS.exposeDecision,
    scope: resolveScope(o.scope),
    announceBeforeSeconds: resolveAnnounce(o.announceBeforeSeconds),
    hold: 'hold' in o ? resolveHold(o.hold) : undefined,
    presence: resolvePresence(o.presence),
    onDecision: o.onDecision as MaintenanceConfig['onDecision'],
    liveReload: resolveLiveReload(o.liveReload),
    retryAfterJitterSeconds: resolveRetryJitter(o.retryAfterJitterSeconds),
    ...resolveLanguages(o),
  });
}

const BYPASS_KEYS = ['secret', 'ttlSeconds', 'header', 'cookieName'] as const;

function resolveBypass(raw: unknown): Required<BypassOptions> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    invalidOption('bypass', 'must be an object such as { secret: "<at least 16 random characters>" }', raw);
  }
  const b = knownEntries(raw as object, BYPASS_KEYS, 'bypass');
  if (typeof b.secret !== 'string' || b.secret.length < 16) {
    // The value is not echoed: it is a secret.
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      'bypass.secret must be a string of at least 16 characters; generate one with `openssl rand -hex 16`.',
    );
  }
  if (!/^[A-Za-z0-9._~-]+$/.test(b.secret)) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      'bypass.secret must use only URL-safe characters (letters, digits, . _ ~ -), since it is visited as /<secret>.',
    );
  }
  const ttl = b.ttlSeconds ?? BYPASS_DEFAULTS.ttlSeconds;
  if (!Number.isInteger(ttl) || (ttl as number) < 1) {
    invalidOption('bypass.ttlSeconds', 'must be a whole number of seconds >= 1', ttl);
  }
  const header = b.header ?? BYPASS_DEFAULTS.header;
  if (typeof header !== 'string' || !/^[A-Za-z0-9-]+$/.test(header)) {
    invalidOption('bypass.header', 'must be an HTTP header name such as "x-maintenance-bypass"', header);
  }
  const cookieName = b.cookieName ?? BYPASS_DEFAULTS.cookieName;
  if (typeof cookieName !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cookieName)) {
    invalidOption('bypass.cookieName', 'must be a cookie name of letters, digits, _ and -', cookieName);
  }
  return Object.freeze({
    secret: b.secret,
    ttlSeconds: ttl as number,
    header: (header as string).toLowerCase(),
    cookieName: cookieName as string,
  });
}
