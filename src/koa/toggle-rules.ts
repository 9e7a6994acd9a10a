import { trimSlash } from '../core/rules.js';
import { invalidOption, knownEntries } from '../core/validate.js';
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
  /** Recorded as `updatedBy`. @default the user's username, id or email (ctx.state.user), when known */
  readonly getUpdatedBy?: (ctx: MaintenanceContext) => string | undefined;
}

/** Default values of {@link MaintenanceRoutesOptions}. */
export const ROUTES_DEFAULTS = Object.freeze({ prefix: '/maintenance-mode' });

/** {@link MaintenanceRoutesOptions} after validation. */
export interface MaintenanceRoutesConfig {
  readonly prefix: string;
  readonly isSuperuser?: MaintenanceRoutesOptions['isSuperuser'];
  readonly service?: MaintenanceService;
  readonly getUpdatedBy?: MaintenanceRoutesOptions['getUpdatedBy'];
}

const KNOWN = ['prefix', 'isSuperuser', 'service', 'getUpdatedBy'] as const;

/** Validates toggle-route options (fail fast, with the fix). */
export function resolveRoutesOptions(input: MaintenanceRoutesOptions = {}): MaintenanceRoutesConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption('maintenanceRoutes(options)', 'takes an options object', input);
  }
  const o = knownEntries(input, KNOWN, 'maintenanceRoutes()');
  const prefix = o.prefix ?? ROUTES_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || trimSlash(prefix) === '/') {
    invalidOption('prefix', 'must be a path such as "/maintenance-mode" (not "/")', prefix);
  }
  for (const key of ['isSuperuser', 'getUpdatedBy'] as const) {
    if (key in o && typeof o[key] !== 'function') invalidOption(key, 'must be a function', o[key]);
  }
  if ('service' in o && typeof (o.service as { enable?: unknown })?.enable !== 'function') {
    invalidOption('service', 'must be a MaintenanceService', o.service);
  }
  return Object.freeze({
    prefix: trimSlash(prefix),
    isSuperuser: o.isSuperuser as MaintenanceRoutesConfig['isSuperuser'],
    service: o.service as MaintenanceService | undefined,
    getUpdatedBy: o.getUpdatedBy as MaintenanceRoutesConfig['getUpdatedBy'],
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
 * Whether a request comes from another site: `Sec-Fetch-Site: cross-site`, an `Origin` other than our own
 * (`Origin: null`, sent by sandboxed frames and some redirects, counts as foreign), or a `Referer` from another
 * origin (old browsers and a GET from a link send neither of the first two). A request with none of the three
 * (scripts, curl) is not cross-site: it carries no ambient browser credentials to abuse.
 */
export function isCrossSite(source: RequestSource, ownOrigin: string): boolean {
  const own = ownOrigin.toLowerCase();
  if (source.secFetchSite?.toLowerCase() === 'cross-site') return true;
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

/** The user's username, id or email, as recorded in `updatedBy`. */
export function actorOf(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null) return undefined;
  const u = user as Record<string, unknown>;
  for (const key of ['username', 'id', 'email', 'name']) {
    const v = u[key];
    if ((typeof v === 'string' && v !== '') || typeof v === 'number') return String(v);
  }
  return undefined;
}
