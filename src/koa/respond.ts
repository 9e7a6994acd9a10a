/**
 * Writes the maintenance answer to a Koa context: redirect, HTML page or JSON, with the caching headers. Without
 * `getContext` an answer depends only on the state, its `Retry-After` seconds, the kind and the language, so each is
 * prepared once — its bytes, and its headers in the order they are sent — and a blocked request only copies them.
 */
import type { ParameterizedContext } from 'koa';
import type { Decision } from '../core/decide.js';
import { negotiateLocale } from '../core/i18n.js';
import type { MaintenanceState } from '../core/state.js';
import { type AnswerKit, answerText, type RetryAfter, retryAfterFor } from './answer-text.js';
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
  return { status, state, seconds: spec.retry.seconds, names, values, varyAt, body, second: -1 };
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

/** Builds the responder for one `maintenance()` configuration. */
export function createResponder(config: MaintenanceConfig, render: Renderer): Responder {
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

  const cached = (ctx: ParameterizedContext, state: MaintenanceState, retry: RetryAfter): Prepared => {
    const lang = language(ctx);
    const kind = kindFor(ctx, config);
    const slot = slotOf(kind, lang);
    const last = slots.get(slot);
    if (last !== undefined && last.state === state && last.seconds === retry.seconds) return last;
    let failed = false;
    const made = prepare(kit, state, { kind, lang, retry, extra: {}, vary }, (err) => {
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
    if (!config.getContext) return send(ctx, cached(ctx, state, retry), nowMs);
    return withContext(ctx, { kit, state, retry, vary, nowMs }, () => ({
      lang: language(ctx),
      kind: kindFor(ctx, config),
    }));
  };
}

/** What an answer with `getContext` is written from. */
interface ContextAnswer {
  readonly kit: AnswerKit;
  readonly state: MaintenanceState;
  readonly retry: RetryAfter;
  readonly vary: readonly string[];
  readonly nowMs: number;
}

/**
 * The answer with the app's `getContext` (asynchronous, never cached): the status and caching headers first, so a
 * hook that fails still leaves a 503 that no cache keeps (then with the plain-text body, reported).
 */
async function withContext(
  ctx: ParameterizedContext,
  a: ContextAnswer,
  negotiate: () => { lang: string; kind: MaintenanceResponseKind },
): Promise<void> {
  neverCache(ctx, a.nowMs);
  ctx.status = a.kit.config.statusCode;
  if (a.retry.header !== undefined) ctx.set('Retry-After', a.retry.header);
  let extra: object;
  try {
    extra = (await (a.kit.config.getContext as NonNullable<MaintenanceConfig['getContext']>)(ctx)) ?? {};
  } catch (err) {
    report(ctx, err);
    ctx.type = PLAIN_TEXT;
    ctx.body = PLAIN_TEXT_BODY;
    return;
  }
  const { lang, kind } = negotiate();
  const spec = { kind, lang, retry: a.retry, extra, vary: a.vary };
  send(
    ctx,
    prepare(a.kit, a.state, spec, (err) => report(ctx, err)),
    a.nowMs,
  );
}
