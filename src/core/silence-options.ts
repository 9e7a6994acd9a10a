/**
 * The `silence` option of `MaintenanceService`: Alertmanager silences made while maintenance is active. What a silence
 * target is, and its check when the service is made (fail fast, naming the field): an http(s) URL, a scope name, and
 * matchers that cannot silence every alert. Pure.
 */
import { createHash } from 'node:crypto';
import { isScopeName } from './scope.js';
import { invalidOption, knownEntries } from './validate.js';

/** One Alertmanager matcher, as Alertmanager's API v2 takes it (`amtool` writes `service="shop"`, `env=~"prod|eu"`). */
export interface SilenceMatcher {
  /** The label's name, e.g. `service`. */
  readonly name: string;
  /** The label's value, or a regular expression (anchored by Alertmanager) when `isRegex`. */
  readonly value: string;
  /** `value` is a regular expression. @default false */
  readonly isRegex?: boolean;
  /** `false` matches alerts whose label does NOT equal (or match) `value`: it only narrows a silence. @default true */
  readonly isEqual?: boolean;
}

/** One silence of `MaintenanceServiceOptions.silence`. */
export interface SilenceTarget {
  /** Alertmanager's base URL, http or https (the API is `<url>/api/v2`), e.g. `http://alertmanager:9093`. */
  readonly alertmanagerUrl: string;
  /**
   * The alerts silenced: every matcher must match (Alertmanager's rule). At least one must be positive (`isEqual`
   * true) and narrow: neither an empty value nor a regular expression that matches the empty value or any value.
   */
  readonly matchers: readonly SilenceMatcher[];
  /** Silence while this scope is in maintenance (or the whole site, which includes it). @default undefined (the whole site's maintenance) */
  readonly scope?: string;
  /** The silence's comment in Alertmanager. @default 'Maintenance of the site (koa-maintenance-mode)' or '… of scope <scope> …' */
  readonly comment?: string;
}

/** A {@link SilenceTarget} after validation. */
export interface SilenceConfig {
  /** Where it is in the options, for messages: `silence[0]`. */
  readonly at: string;
  /** The API's base, without credentials or a trailing slash: `http://alertmanager:9093/api/v2`. */
  readonly api: string;
  /** `Basic …` from the URL's user and password (fetch refuses a URL with credentials). */
  readonly authorization?: string;
  /** The URL as logs show it: scheme, host and port only. */
  readonly shown: string;
  readonly matchers: ReadonlyArray<Required<SilenceMatcher>>;
  readonly scope?: string;
  readonly comment: string;
  /** Names this silence in Alertmanager (its `createdBy`) and in claims: a hash of the matchers and the scope. */
  readonly key: string;
}

const TARGET_KEYS = ['alertmanagerUrl', 'matchers', 'scope', 'comment'] as const;
const MATCHER_KEYS = ['name', 'value', 'isRegex', 'isEqual'] as const;

/** A Prometheus label name. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Values unrelated to any label: a positive regex matcher that matches every one of them matches any value (`.+`,
 * `.*`, `[^/]*`), and is refused like one that matches the empty value (every alert without the label).
 */
export const SILENCE_PROBE_VALUES: readonly string[] = Object.freeze(['a', 'Z', '0', '-', 'koa-maintenance-mode']);

/** Validates `silence` (fail fast, naming the field and the fix). */
export function resolveSilences(input: unknown): readonly SilenceConfig[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    invalidOption('silence', 'must be an array such as [{ alertmanagerUrl, matchers: [{ name, value }] }]', input);
  }
  const configs = input.map(resolveTarget);
  configs.forEach((c, i) => {
    const twin = configs.findIndex((d) => d.key === c.key && d.api === c.api);
    if (twin < i) invalidOption(c.at, `repeats silence[${twin}] (the same Alertmanager, matchers and scope)`, input[i]);
  });
  return Object.freeze(configs);
}

function resolveTarget(input: unknown, i: number): SilenceConfig {
  const at = `silence[${i}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption(at, 'must be an object such as { alertmanagerUrl, matchers: [{ name, value }] }', input);
  }
  const o = knownEntries(input, TARGET_KEYS, at);
  const url = parsedUrl(o.alertmanagerUrl, `${at}.alertmanagerUrl`);
  if ('scope' in o && !isScopeName(o.scope)) {
    invalidOption(`${at}.scope`, 'must be a scope name such as "billing" or "tenant:42"', o.scope);
  }
  if ('comment' in o && (typeof o.comment !== 'string' || o.comment.trim() === '')) {
    invalidOption(`${at}.comment`, 'must be a non-empty string', o.comment);
  }
  const matchers = checkedMatchers(o.matchers, `${at}.matchers`);
  const scope = o.scope as string | undefined;
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  const shown = `${url.protocol}//${url.host}`;
  url.username = '';
  url.password = '';
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return Object.freeze({
    at,
    api: `${base}/api/v2`,
    ...(authorization !== undefined ? { authorization } : {}),
    shown,
    matchers,
    ...(scope !== undefined ? { scope } : {}),
    comment: (o.comment as string | undefined) ?? defaultComment(scope),
    key: silenceKey(matchers, scope),
  });
}

/** The URL, when it is an http(s) URL without a query or fragment. */
function parsedUrl(value: unknown, at: string): URL {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    if (url) [url.username, url.password] = ['', '']; // never shown
    const extra = url && (url.search !== '' || url.hash !== '') ? ' without a query or fragment' : '';
    invalidOption(at, `must be an http:// or https:// URL${extra}, such as "http://alertmanager:9093"`, url ?? value);
  }
  return url;
}

function defaultComment(scope: string | undefined): string {
  return `Maintenance of ${scope === undefined ? 'the site' : `scope ${scope}`} (koa-maintenance-mode)`;
}

/** Checks the matchers: each well formed, none positive that matches everything, at least one positive. */
function checkedMatchers(input: unknown, at: string): ReadonlyArray<Required<SilenceMatcher>> {
  if (!Array.isArray(input) || input.length === 0) {
    invalidOption(at, 'must list at least one matcher such as { name: "service", value: "shop" }', input);
  }
  const matchers = input.map((m, j) => checkedMatcher(m, `${at}[${j}]`));
  if (!matchers.some((m) => m.isEqual)) {
    invalidOption(
      at,
      'has only negative matchers (isEqual: false), which would silence every other alert: add a positive one such as { name: "service", value: "shop" }',
      input,
    );
  }
  return Object.freeze(matchers);
}

function checkedMatcher(input: unknown, at: string): Required<SilenceMatcher> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption(at, 'must be an object such as { name: "service", value: "shop" }', input);
  }
  const o = knownEntries(input, MATCHER_KEYS, at);
  if (typeof o.name !== 'string' || !LABEL_NAME.test(o.name)) {
    invalidOption(`${at}.name`, 'must be a label name (letters, digits and "_", not starting with a digit)', o.name);
  }
  if (typeof o.value !== 'string') invalidOption(`${at}.value`, 'must be a string', o.value);
  for (const flag of ['isRegex', 'isEqual'] as const) {
    if (flag in o && typeof o[flag] !== 'boolean') invalidOption(`${at}.${flag}`, 'must be true or false', o[flag]);
  }
  const m = { name: o.name, value: o.value, isRegex: o.isRegex === true, isEqual: o.isEqual !== false };
  const broad = tooBroad(m);
  if (broad && m.isEqual) invalidOption(`${at}.value`, broad, m.value);
  return Object.freeze(m);
}

/** Why a matcher, were it positive, would match every alert (or every alert without its label); undefined if it narrows. */
function tooBroad(m: Required<SilenceMatcher>): string | undefined {
  const anyAlert = 'which would silence every alert';
  if (!m.isRegex) {
    return m.value === '' ? `is empty: it matches every alert without the label "${m.name}", ${anyAlert}` : undefined;
  }
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.value})$`);
  } catch (err) {
    return `is not a valid regular expression (${(err as Error).message})`;
  }
  if (re.test('')) return `matches the empty value, so every alert without the label "${m.name}", ${anyAlert}`;
  if (SILENCE_PROBE_VALUES.every((v) => re.test(v))) {
    return `matches any value, which would silence every alert with the label "${m.name}"`;
  }
  return undefined;
}

/** The key of a silence: the same matchers (in any order) and scope give the same key on every instance. */
function silenceKey(matchers: ReadonlyArray<Required<SilenceMatcher>>, scope: string | undefined): string {
  const canonical = matchers.map((m) => JSON.stringify([m.name, m.value, m.isRegex, m.isEqual])).sort();
  return createHash('sha256')
    .update(JSON.stringify([canonical, scope ?? null]))
    .digest('hex')
    .slice(0, 16);
}
