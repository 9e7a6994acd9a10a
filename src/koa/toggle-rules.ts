import { LIVE_DEFAULTS } from '../core/live.js';
import { trimSlash } from '../core/rules.js';
import { invalidOption, knownEntries, type NamesEveryKey } from '../core/validate.js';
import type { MaintenanceService } from '../service/service.js';
import type { MaintenanceContext } from './options.js';

/** Options for `maintenanceRoutes()` and `createMaintenanceController()`. */
export interface MaintenanceRoutesOptions {
  /** Path prefix of the routes. @default '/maintenance-mode' */
  readonly prefix?: string;
  /** Who may switch maintenance and see the status. @default (ctx) => ctx.state.user?.isSuperuser === true */
  readonly isSuperuser?: (ctx: MaintenanceContext) => boolean | Promise<boolean>;
  /** The service to switch. @default Container.get(MaintenanceService), resolved per request */
  readonly service?: MaintenanceService;
  /**
   * Recorded as `updatedBy`. @default the `username`, `name` or `email` of `ctx.state.user`, else `user:<id>`, when
   * known
   */
  readonly getUpdatedBy?: (ctx: MaintenanceContext) => string | undefined;
  /**
   * Serve `GET <prefix>/public.json` to everyone: `{ active, start?, end?, message?, readOnly?, upcoming? }` (never
   * who changed it or a secret), for front-ends and status pages; `?scope=` gives a scope's view. @default false
   */
  readonly publicStatus?: boolean;
  /**
   * Serve `GET <prefix>/events` to everyone: Server-Sent Events (`event: state`, `id:` the state revision) with exactly
   * the body of `public.json` (`?scope=` likewise), once on connect and again on every change of it, and a keep-alive
   * comment every 25 s; the 503 page and the banner follow it (`maintenance({ liveReload })`). `true`, or the caps.
   * @default publicStatus (with the default caps)
   */
  readonly live?: boolean | LiveOptions;
}

/** Caps of `live`: a connection past one gets 503 with `Retry-After`. */
export interface LiveOptions {
  /** Streams this instance serves at once (1–1000000). @default 10000 */
  readonly maxClients?: number;
  /**
   * Streams one client (an IPv4 address, or an IPv6 /64; `ctx.ip`) may hold at once, so one client cannot take them
   * all. @default maxClients / 10, rounded up
   */
  readonly maxPerClient?: number;
}

/** Default values of {@link MaintenanceRoutesOptions}. */
export const ROUTES_DEFAULTS = Object.freeze({ prefix: '/maintenance-mode' });

/** {@link MaintenanceRoutesOptions} after validation. */
export interface MaintenanceRoutesConfig {
  readonly prefix: string;
  readonly isSuperuser?: MaintenanceRoutesOptions['isSuperuser'];
  readonly service?: MaintenanceService;
  readonly getUpdatedBy?: MaintenanceRoutesOptions['getUpdatedBy'];
  readonly publicStatus: boolean;
  /** `GET <prefix>/events` with its caps, or false when it is not served. */
  readonly live: Readonly<Required<LiveOptions>> | false;
}

/** The names of every `maintenanceRoutes()` option (the README's table lists exactly these). */
export const ROUTES_OPTION_NAMES = [
  'prefix',
  'isSuperuser',
  'service',
  'getUpdatedBy',
  'publicStatus',
  'live',
] as const satisfies readonly (keyof MaintenanceRoutesOptions)[];
/** Compiles only while {@link ROUTES_OPTION_NAMES} names every option of {@link MaintenanceRoutesOptions}. */
const everyRouteOptionListed: NamesEveryKey<MaintenanceRoutesOptions, typeof ROUTES_OPTION_NAMES> = true;
void everyRouteOptionListed;

/** The caps of `live` (its default: on with `publicStatus`), checked: whole numbers, `maxPerClient` ≤ `maxClients`. */
export function resolveLive(raw: unknown, publicStatus: boolean): Readonly<Required<LiveOptions>> | false {
  const on = raw ?? publicStatus;
  if (on === false) return false;
  if (on !== true && (typeof on !== 'object' || on === null || Array.isArray(on))) {
    invalidOption('live', 'must be true, false or the caps { maxClients, maxPerClient }', raw);
  }
  const caps = on === true ? {} : knownEntries(on as object, ['maxClients', 'maxPerClient'], 'live');
  const maxClients = caps.maxClients ?? LIVE_DEFAULTS.maxClients;
  if (!Number.isInteger(maxClients) || (maxClients as number) < 1 || (maxClients as number) > 1_000_000) {
    invalidOption('live.maxClients', 'must be a whole number of connections from 1 to 1000000', maxClients);
  }
  const perClient = caps.maxPerClient ?? Math.ceil((maxClients as number) / 10);
  if (!Number.isInteger(perClient) || (perClient as number) < 1 || (perClient as number) > (maxClients as number)) {
    invalidOption(
      'live.maxPerClient',
      `must be a whole number of connections from 1 to maxClients (${maxClients})`,
      perClient,
    );
  }
  return Object.freeze({ maxClients: maxClients as number, maxPerClient: perClient as number });
}

/**
 * The checks the toggle routes and the control API share: `prefix` a path (not "/"; `defaultPrefix` when unset),
 * `isSuperuser` and `getUpdatedBy` functions, `service` a MaintenanceService. Returns the prefix without its trailing slash.
 */
export function checkRouteOptions(o: Readonly<Record<string, unknown>>, defaultPrefix: string): string {
  const prefix = o.prefix ?? defaultPrefix;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || trimSlash(prefix) === '/') {
    invalidOption('prefix', `must be a path such as "${defaultPrefix}" (not "/")`, prefix);
  }
  for (const key of ['isSuperuser', 'getUpdatedBy'] as const) {
    if (key in o && typeof o[key] !== 'function') invalidOption(key, 'must be a function', o[key]);
  }
  if ('service' in o && typeof (o.service as { enable?: unknown })?.enable !== 'function') {
    invalidOption('service', 'must be a MaintenanceService', o.service);
  }
  return trimSlash(prefix);
}

/** Validates toggle-route options (fail fast, with the fix). */
export function resolveRoutesOptions(input: MaintenanceRoutesOptions = {}): MaintenanceRoutesConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption('maintenanceRoutes(options)', 'takes an options object', input);
  }
  const o = knownEntries(input, ROUTES_OPTION_NAMES, 'maintenanceRoutes()');
  const prefix = checkRouteOptions(o, ROUTES_DEFAULTS.prefix);
  if ('publicStatus' in o && typeof o.publicStatus !== 'boolean') {
    invalidOption('publicStatus', 'must be true or false', o.publicStatus);
  }
  const publicStatus = (o.publicStatus as boolean | undefined) ?? false;
  return Object.freeze({
    prefix,
    isSuperuser: o.isSuperuser as MaintenanceRoutesConfig['isSuperuser'],
    service: o.service as MaintenanceService | undefined,
    getUpdatedBy: o.getUpdatedBy as MaintenanceRoutesConfig['getUpdatedBy'],
    publicStatus,
    live: resolveLive(o.live, publicStatus),
  });
}

/** The request headers that tell where a request was sent from. */
export interface RequestSource {
  readonly secFetchSite?: string;
  readonly origin?: string;
  readonly referer?: string;
}

/** The origin (`scheme://host[:port]`) of a Referer, or undefined when it is not an absolute http(s) URL. */
function refererOrigin(referer: string): string | undefined {
  try {
    const url = new URL(referer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a request may not change the state because it did not come from this origin: a `Sec-Fetch-Site` other
 * than `same-origin` or `none` (`same-site` too: a sibling subdomain's `<img referrerpolicy=no-referrer>` sends it
 * with neither Origin nor Referer), an `Origin` other than our own (`Origin: null`, sent by sandboxed frames and some
 * redirects, counts as foreign), or a `Referer` from another origin (old browsers and a GET from a link send neither
 * of the first two). A request with none of the three (scripts, curl) is not cross-site: it carries no ambient
 * browser credentials to abuse.
 */
export function isCrossSite(source: RequestSource, ownOrigin: string): boolean {
  const own = ownOrigin.toLowerCase();
  const site = source.secFetchSite?.toLowerCase();
  if (site && site !== 'same-origin' && site !== 'none') return true;
  if (source.origin) return source.origin.toLowerCase() !== own;
  if (source.referer) return refererOrigin(source.referer)?.toLowerCase() !== own;
  return false;
}

/** `next` when it is a path on this site, else `'/'` (no open redirect: `//evil`, `/\evil`, schemes, control chars). */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return '/';
  const url = new URL(next, 'http://same.invalid');
  return url.origin === 'http://same.invalid' ? `${url.pathname}${url.search}${url.hash}` : '/';
}

/**
 * What `updatedBy` records for `user` (`ctx.state.user`): a name a person reads in the history, so the user's
 * `username`, `name` or `email` (the first that is a non-empty text), else `user:<id>` (an id alone, such as `42`,
 * says nothing in a log).
 */
export function actorOf(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null) return undefined;
  const u = user as Record<string, unknown>;
  for (const key of ['username', 'name', 'email']) {
    const v = u[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  const id = u.id;
  return (typeof id === 'string' && id !== '') || typeof id === 'number' ? `user:${id}` : undefined;
}

/** The window a form or query asks for: `start`/`end` (ISO-8601; a `datetime-local` value without a zone is UTC). */
export interface WindowRequest {
  readonly start?: string;
  readonly end?: string;
  /** One text, or one per language when the form has `messages` lines (`de: Text`; `message` is then English). */
  readonly message?: string | Record<string, string>;
  readonly readOnly?: true;
  readonly dryRun?: true;
  /** Generate a bypass secret for the window (shown once). */
  readonly bypass?: true;
  /** The fields describe the whole window (the status page's plan form): nothing stored is kept. */
  readonly replace?: true;
}

const CHECKED = new Set(['on', 'true', '1', 'yes']);
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** `message`, or with `messages` lines such as `de: Wartung bis 3 Uhr` one text per language (`message` = English). */
function messageOf(
  message: string | undefined,
  lines: string | undefined,
): string | Record<string, string> | undefined {
  if (lines === undefined) return message;
  const texts: Record<string, string> = message === undefined ? {} : { en: message };
  for (const line of lines.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\s*[:=]\s*(.+?)\s*$/.exec(line);
    if (m) texts[m[1]] = m[2];
  }
  return Object.keys(texts).length > 0 ? texts : message;
}

/** Reads the window fields of a form body or query (`start`, `end`, `message`, `readOnly`, `dryRun`, `bypass`, `replace`). */
export function windowRequest(fields: Record<string, unknown>): WindowRequest {
  const text = (k: string) => {
    const v = fields[k];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const instant = (k: string) => {
    const v = text(k);
    return v !== undefined && LOCAL_TIME.test(v) ? `${v}Z` : v;
  };
  const flag = (k: string) => (CHECKED.has(String(fields[k] ?? '').toLowerCase()) ? true : undefined);
  const out: { -readonly [K in keyof WindowRequest]: WindowRequest[K] } = {};
  const start = instant('start');
  const end = instant('end');
  const message = messageOf(text('message'), text('messages'));
  if (start !== undefined) out.start = start;
  if (end !== undefined) out.end = end;
  if (message !== undefined) out.message = message;
  if (flag('readOnly')) out.readOnly = true;
  if (flag('dryRun')) out.dryRun = true;
  if (flag('bypass')) out.bypass = true;
  if (flag('replace')) out.replace = true;
  return out;
}
