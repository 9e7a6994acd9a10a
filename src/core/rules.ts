/** Bypass rules compiled once from the resolved options: admin site, IPs, URLs, redirect target. Pure. */
import { posix } from 'node:path';
import { compileIpMatcher } from './ip.js';

/** Removes a trailing slash so `'/api/'` and `'/api'` mean the same prefix. */
export function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.replace(/\/+$/, '') || '/' : p;
}

/** Predicates the decision asks; built once by {@link compileRules}. */
export interface BypassRules {
  readonly isAdminPath: (path: string) => boolean;
  readonly isIgnoredIp: (ip: string | undefined) => boolean;
  readonly isIgnoredUrl: (path: string) => boolean;
  /** Whether `path` (on `host`) is where blocked requests are redirected, so it must be served (no loop). */
  readonly isRedirectTarget: (path: string, host: string) => boolean;
}

/**
 * The path used for matching: percent-decoded, dot segments resolved and repeated slashes folded, so that
 * `/static/../admin` or `/static/%2e%2e/admin` cannot ride on an exemption for `/static` into a file server
 * that normalises the path itself.
 */
export function normalizePath(raw: string): string {
  let p = raw;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      // Malformed escapes: match the raw text; it can only make an exemption match less.
    }
  }
  if (p.includes('//') || p.includes('/.') || p.includes('\\')) p = posix.normalize(p.replace(/\\/g, '/'));
  return p.startsWith('/') ? p : `/${p}`;
}

/** `prefix` matches itself and anything below it on a segment boundary: `/api` → `/api`, `/api/x`; not `/apix`. */
export function matchesPrefix(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47) /* '/' */;
}

function compilePathMatcher(entries: ReadonlyArray<string | RegExp>): (path: string) => boolean {
  if (entries.length === 0) return () => false;
  const prefixes = entries.filter((e): e is string => typeof e === 'string').map(trimSlash);
  const patterns = entries.filter((e): e is RegExp => e instanceof RegExp);
  return (path) => prefixes.some((p) => matchesPrefix(path, p)) || patterns.some((re) => re.test(path));
}

function compileRedirectTarget(redirectUrl: string | undefined): BypassRules['isRedirectTarget'] {
  if (redirectUrl === undefined) return () => false;
  const relative = redirectUrl.startsWith('/');
  const url = new URL(redirectUrl, 'http://relative.invalid');
  const targetPath = trimSlash(url.pathname);
  const targetHost = url.host.toLowerCase();
  return (path, host) => trimSlash(path) === targetPath && (relative || host.toLowerCase() === targetHost);
}

/** The resolved options the rules are compiled from (a part of `maintenance()`'s resolved options). */
export interface RuleConfig {
  readonly adminPath: string;
  readonly ignoreIpAddresses: ReadonlyArray<string | RegExp>;
  readonly ignoreUrls: ReadonlyArray<string | RegExp>;
  readonly redirectUrl?: string;
}

/** Compiles the bypass rules of `config` (done once, in `maintenance()`). */
export function compileRules(config: RuleConfig): BypassRules {
  const adminPath = config.adminPath;
  return {
    isAdminPath: (path) => matchesPrefix(path, adminPath),
    isIgnoredIp: compileIpMatcher(config.ignoreIpAddresses),
    isIgnoredUrl: compilePathMatcher(config.ignoreUrls),
    isRedirectTarget: compileRedirectTarget(config.redirectUrl),
  };
}
