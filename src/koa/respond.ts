/**
 * Writes the maintenance answer to a Koa context: redirect, HTML page or JSON, with the caching headers. Without
 * `getContext` an answer depends only on the state, its `Retry-After` seconds, the kind and the language, so each is
 * prepared once — its bytes, and its headers in the order they are sent — and a blocked request only copies them.
 */
import type { ParameterizedContext } from 'koa';
import type { Decision } from '../core/decide.js';
import { negotiateLocale } from '../core/i18n.js';
import { RESPONSE_SCOPE } from '../core/scope.js';
import type { MaintenanceState } from '../core/state.js';
import { type AnswerKit, answerText, type RetryAfter, retryAfterFor } from './answer-text.js';
import type { LiveLink, LivePage } from './live-link.js';
import type { MaintenanceConfig, MaintenanceResponseKind } from './options.js';
import type { Renderer } from './render.js';

/** A blocked decision. */
export type BlockDecision = Extract<Decision, { blocked: true }>;

/** Writes the answer for one blocked request; synchronous unless `getContext` is given. */
export type Responder = (
  ctx: ParameterizedContext,
  state: MaintenanceState,
  decision: BlockDecision,
  now?: Date,
) => void | Promise<void>;

/** Sent on every maintenance answer so no cache keeps the page after maintenance ends. */
export const NO_CACHE = 'max-age=0, no-cache, no-store, must-revalidate, private';

let expiresSecond = -1;
let expiresText = '';

/** The `Expires` value for the second `second` (Unix seconds): one second before it, formatted once a second. */
function expiresAt(second: number): string {
  if (second !== expiresSecond) {
    expiresSecond = second;
    expiresText = new Date((second - 1) * 1000).toUTCString();
  }
  return expiresText;
}

/**
 * The never-cache headers of django's `never_cache`: `Cache-Control` as {@link NO_CACHE} and `Expires` one second
 * before `now` (HTTP/1.0 caches and some CDNs only read `Expires`). The date text is reused within a second.
 */
export function neverCache(ctx: ParameterizedContext, now: number = Date.now()): void {
  ctx.set('Cache-Control', NO_CACHE);
  ctx.set('Expires', expiresAt(Math.floor(now / 1000)));
}

/** Body sent when the page cannot be rendered: the answer is still a 503, never a 500. */
export const PLAIN_TEXT_BODY = 'Service temporarily unavailable: maintenance in progress. Please try again later.\n';

/** Reports a failure of a user hook or template without failing the request (Koa's own error channel). */
export function report(ctx: ParameterizedContext, err: unknown): void {
  ctx.app.emit('error', err instanceof Error ? err : new Error(String(err)), ctx);
}

const PROBLEM = 'application/problem+json';
const PLAIN_TEXT = 'text/plain; charset=utf-8';

/** Content types of the three kinds of answer. */
const CONTENT_TYPES: Record<MaintenanceResponseKind, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  problem: `${PROBLEM}; charset=utf-8`,
};

/** The kind of answer a request gets (with `auto`, by its `Accept`; a function chooses for itself). */
function kindFor(ctx: ParameterizedContext, config: MaintenanceConfig): MaintenanceResponseKind {
  const t = config.responseType;
  if (t === 'html' || t === 'json' || t === 'problem') return t;
  if (t === 'auto') {
    // Listed in order of preference when the client accepts several equally (e.g. */*): a page for people.
    const best = ctx.accepts('html', 'json', PROBLEM);
    return best === PROBLEM ? 'problem' : best === 'json' ? 'json' : 'html';
  }
  const chosen = t(ctx);
  return chosen === 'json' || chosen === 'problem' ? chosen : 'html';
}

/** Headers up to this length (what browsers send) have their negotiated language remembered. */
const REMEMBERED_HEADER_LENGTH = 128;

/**
 * The answer's language for a request: negotiated from `Accept-Language` among `locales` (results kept for the last
 * 256 distinct browser-sized headers; a longer one is negotiated within the limits and not kept, so hostile headers
 * neither evict browsers' choices nor stay in memory).
 */
function createLanguagePicker(config: MaintenanceConfig): (ctx: ParameterizedContext) => string {
  const known = new Map<string, string>();
  if (config.locales.length <= 1) return () => config.defaultLocale;
  return (ctx) => {
    const header = ctx.get('Accept-Language');
    let lang = header.length <= REMEMBERED_HEADER_LENGTH ? known.get(header) : undefined;
    if (lang === undefined) {
      lang = negotiateLocale(header, config.locales, config.defaultLocale);
      if (header.length <= REMEMBERED_HEADER_LENGTH) {
        if (known.size >= 256) known.clear();
        known.set(header, lang);
      }
    }
    return lang;
  };
}

/**
 * An answer ready to send: its headers in the order they go out — `Cache-Control`, `Expires` (refreshed once a second),
 * `Retry-After`, `Vary` (after `Content-Language` when it names `Accept` only), `Content-Language`, `Content-Type` —
 * and its body. Valid for one state object (states are
 * immutable) and one `Retry-After` value.
 */
interface Prepared {
  readonly status: number;
  readonly state: MaintenanceState;
  readonly seconds: number | undefined;
  /** What `Retry-After` says (with `retryAfterJitterSeconds`, each answer adds its own random seconds to it). */
  readonly retry: RetryAfter;
  /** The live script the page carries (undefined: none). */
  readonly live: LivePage | undefined;
  readonly names: readonly string[];
  readonly values: string[];
  /** Where `Vary` is in `names` (-1: the answer varies on nothing). */
  readonly varyAt: number;
  readonly body: Buffer;
  /** The second `Expires` in `values` was made for. */
  second: number;
}

/** What an answer is prepared from, besides the kit and the state. */
interface PrepareSpec {
  readonly kind: MaintenanceResponseKind;
  readonly lang: string;
  readonly retry: RetryAfter;
  readonly extra: object;
  /** The fields the answer varies on (`Accept-Language` with a choice of languages, `Accept` with `auto`). */
  readonly vary: readonly string[];
  readonly live?: LivePage;
}

/** Renders the answer and lays out its headers; a template that fails yields the plain-text answer (reported). */
function prepare(
  kit: AnswerKit,
  state: MaintenanceState,
  spec: PrepareSpec,
  onError: (err: unknown) => void,
): Prepared {
  let body: Buffer;
  let type = CONTENT_TYPES[spec.kind];
  try {
    body = Buffer.from(answerText(kit, state, spec));
  } catch (err) {
    onError(err);
    body = Buffer.from(PLAIN_TEXT_BODY);
    type = PLAIN_TEXT;
  }
  const names = ['Cache-Control', 'Expires'];
  const values = [NO_CACHE, ''];
  const add = (name: string, value: string) => names.push(name) && values.push(value);
  if (spec.retry.header !== undefined) add('Retry-After', spec.retry.header);
  // Where the answer has always set it: before Content-Language when it varies on the language, else after it.
  const early = spec.vary.includes('Accept-Language');
  let varyAt = -1;
  const addVary = () => {
    varyAt = names.length;
    add('Vary', spec.vary.join(', '));
  };
  if (early) addVary();
  add('Content-Language', spec.lang);
  if (!early && spec.vary.length > 0) addVary();
  add('Content-Type', type);
  const status = kit.config.statusCode;
  const { retry, live } = spec;
  return { status, state, seconds: retry.seconds, retry, live, names, values, varyAt, body, second: -1 };
}

/**
 * Sends a prepared answer: its status, headers and body. `Vary` set by an earlier middleware is kept and extended
 * field by field (`ctx.vary`); otherwise the answer's own value is set with the rest.
 */
function send(ctx: ParameterizedContext, p: Prepared, nowMs: number): void {
  const second = Math.floor(nowMs / 1000);
  if (p.second !== second) {
    p.values[1] = expiresAt(second);
    p.second = second;
  }
  ctx.status = p.status;
  const res = ctx.res;
  const earlier = p.varyAt < 0 ? undefined : res.getHeader('Vary');
  const merge = earlier !== undefined && earlier !== '';
  if (!ctx.headerSent) {
    for (let i = 0; i < p.names.length; i++) if (!(merge && i === p.varyAt)) res.setHeader(p.names[i], p.values[i]);
  }
  if (merge) for (const field of (p.values[p.varyAt] as string).split(', ')) ctx.vary(field);
  ctx.body = p.body;
}

/**
 * `Retry-After` with 0…`jitter` random seconds added: to the seconds, or to the HTTP date of a scheduled end (so
 * clients that honour it do not all come back in the same second).
 */
export function jitteredRetryAfter(retry: RetryAfter, jitter: number, random: number = Math.random()): string {
  const extra = Math.floor(random * (jitter + 1));
  if (retry.end !== undefined) return new Date(retry.end.getTime() + extra * 1000).toUTCString();
  return String((retry.seconds ?? 0) + extra);
}

/** {@link send} with a `Retry-After` of its own (`retryAfterJitterSeconds`). */
function sendJittered(ctx: ParameterizedContext, p: Prepared, nowMs: number, jitter: number): void {
  send(ctx, p, nowMs);
  if (p.retry.header !== undefined && !ctx.headerSent)
    ctx.res.setHeader('Retry-After', jitteredRetryAfter(p.retry, jitter));
}

/**
 * The live script of a blocked page: for the `maintenance` rule only (a forced-on route answers maintenance whatever
 * the state: its page must never return by itself), following the scope whose state blocked it.
 */
function livePageOf(ctx: ParameterizedContext, link: LiveLink, rule: BlockDecision['rule'], scoped: boolean) {
  if (rule !== 'maintenance') return undefined;
  return link.page(scoped ? (ctx.res as { [RESPONSE_SCOPE]?: string })[RESPONSE_SCOPE] : undefined);
}

/** Builds the responder for one `maintenance()` configuration (`link`: its live pages, when `liveReload` is on). */
export function createResponder(config: MaintenanceConfig, render: Renderer, link?: LiveLink): Responder {
  const kit: AnswerKit = { config, render };
  const language = createLanguagePicker(config);
  const vary = [
    ...(config.locales.length > 1 ? ['Accept-Language'] : []),
    ...(config.responseType === 'auto' ? ['Accept'] : []),
  ];
  // A state without an end has the configured Retry-After: one object for every such answer.
  const fixedRetry = retryAfterFor({ enabled: false }, config.retryAfter, new Date(0));
  // One slot per kind and language, so visitors of different languages do not evict each other's answers.
  const slots = new Map<string, Prepared>();
  const slotOf = (kind: MaintenanceResponseKind, lang: string) =>
    lang === config.defaultLocale ? kind : `${kind}:${lang}`;

  const jitter = config.retryAfterJitterSeconds;
  const scoped = config.scope !== undefined;
  const cached = (ctx: ParameterizedContext, state: MaintenanceState, retry: RetryAfter, decision: BlockDecision) => {
    const lang = language(ctx);
    const kind = kindFor(ctx, config);
    const live = link !== undefined && kind === 'html' ? livePageOf(ctx, link, decision.rule, scoped) : undefined;
    const slot = slotOf(kind, lang);
    const last = slots.get(slot);
    if (last !== undefined && last.state === state && last.seconds === retry.seconds && last.live === live) return last;
    let failed = false;
    const made = prepare(kit, state, { kind, lang, retry, extra: {}, vary, live }, (err) => {
      failed = true;
      report(ctx, err);
    });
    if (!failed) slots.set(slot, made);
    return made;
  };

  return (ctx, state, decision, now = new Date()) => {
    const nowMs = now.getTime();
    if (decision.action === 'redirect' && config.redirectUrl !== undefined) {
      neverCache(ctx, nowMs);
      ctx.redirect(config.redirectUrl);
      return;
    }
    const retry = state.end === undefined ? fixedRetry : retryAfterFor(state, config.retryAfter, now);
    if (!config.getContext) {
      const prepared = cached(ctx, state, retry, decision);
      return jitter === 0 ? send(ctx, prepared, nowMs) : sendJittered(ctx, prepared, nowMs, jitter);
    }
    return withContext(ctx, { kit, state, retry, vary, nowMs, jitter }, () => {
      const kind = kindFor(ctx, config);
      const live = link !== undefined && kind === 'html' ? livePageOf(ctx, link, decision.rule, scoped) : undefined;
      return { lang: language(ctx), kind, live };
    });
  };
}

/** What an answer with `getContext` is written from. */
interface ContextAnswer {
  readonly kit: AnswerKit;
  readonly state: MaintenanceState;
  readonly retry: RetryAfter;
  readonly vary: readonly string[];
  readonly nowMs: number;
  readonly jitter: number;
}

/**
 * The answer with the app's `getContext` (asynchronous, never cached): the status and caching headers first, so a
 * hook that fails still leaves a 503 that no cache keeps (then with the plain-text body, reported).
 */
async function withContext(
  ctx: ParameterizedContext,
  a: ContextAnswer,
  negotiate: () => { lang: string; kind: MaintenanceResponseKind; live: LivePage | undefined },
): Promise<void> {
  neverCache(ctx, a.nowMs);
  ctx.status = a.kit.config.statusCode;
  if (a.retry.header !== undefined) {
    ctx.set('Retry-After', a.jitter === 0 ? a.retry.header : jitteredRetryAfter(a.retry, a.jitter));
  }
  let extra: object;
  try {
    extra = (await (a.kit.config.getContext as NonNullable<MaintenanceConfig['getContext']>)(ctx)) ?? {};
  } catch (err) {
    report(ctx, err);
    ctx.type = PLAIN_TEXT;
    ctx.body = PLAIN_TEXT_BODY;
    return;
  }
  const { lang, kind, live } = negotiate();
  const spec = { kind, lang, retry: a.retry, extra, vary: a.vary, live };
  const prepared = prepare(a.kit, a.state, spec, (err) => report(ctx, err));
  // send() writes the prepared headers, Retry-After without the jitter: sendJittered() puts a jittered one back.
  if (a.jitter === 0) send(ctx, prepared, a.nowMs);
  else sendJittered(ctx, prepared, a.nowMs, a.jitter);
}
