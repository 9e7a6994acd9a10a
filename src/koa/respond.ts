/** Writes the maintenance answer to a Koa context: redirect, HTML page or JSON, with the caching headers. */
import { STATUS_CODES } from 'node:http';
import type { ParameterizedContext } from 'koa';
import type { Decision } from '../core/decide.js';
import { negotiateLocale, pickText } from '../core/i18n.js';
import { isActive, type MaintenanceState } from '../core/state.js';
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

/**
 * The never-cache headers of django's `never_cache`: `Cache-Control` as {@link NO_CACHE} and `Expires` one second
 * before `now` (HTTP/1.0 caches and some CDNs only read `Expires`). The date text is reused within a second.
 */
export function neverCache(ctx: ParameterizedContext, now: number = Date.now()): void {
  ctx.set('Cache-Control', NO_CACHE);
  const second = Math.floor(now / 1000);
  if (second !== expiresSecond) {
    expiresSecond = second;
    expiresText = new Date((second - 1) * 1000).toUTCString();
  }
  ctx.set('Expires', expiresText);
}

/** Body sent when the page cannot be rendered: the answer is still a 503, never a 500. */
export const PLAIN_TEXT_BODY = 'Service temporarily unavailable: maintenance in progress. Please try again later.\n';

/** Reports a failure of a user hook or template without failing the request (Koa's own error channel). */
export function report(ctx: ParameterizedContext, err: unknown): void {
  ctx.app.emit('error', err instanceof Error ? err : new Error(String(err)), ctx);
}

const PROBLEM = 'application/problem+json';

function kindFor(ctx: ParameterizedContext, config: MaintenanceConfig): MaintenanceResponseKind {
  const t = config.responseType;
  if (t === 'html' || t === 'json' || t === 'problem') return t;
  if (t === 'auto') {
    vary(ctx, 'Accept');
    // Listed in order of preference when the client accepts several equally (e.g. */*): a page for people.
    const best = ctx.accepts('html', 'json', PROBLEM);
    return best === PROBLEM ? 'problem' : best === 'json' ? 'json' : 'html';
  }
  const chosen = t(ctx);
  return chosen === 'json' || chosen === 'problem' ? chosen : 'html';
}

/** `Retry-After` value and seconds: the end of the active window wins over the configured `retryAfter`. */
export function retryAfterFor(
  state: MaintenanceState,
  retryAfter: number | null,
  now: Date,
): { header?: string; seconds?: number; end?: Date } {
  if (state.end !== undefined && isActive(state, now)) {
    const end = new Date(state.end);
    return { header: end.toUTCString(), seconds: Math.max(0, Math.ceil((end.getTime() - now.getTime()) / 1000)), end };
  }
  if (retryAfter === null) return {};
  return { header: String(retryAfter), seconds: retryAfter };
}

/** `ctx.vary(field)`, without parsing when no earlier middleware set `Vary` (the common case on this path). */
function vary(ctx: ParameterizedContext, field: string): void {
  // Koa 3 answers undefined for a header that is not set (Koa 2 answered ''): both mean "not set yet".
  const current: unknown = ctx.response.get('Vary');
  if (current === undefined || current === '') ctx.set('Vary', field);
  else ctx.vary(field);
}

/** Content types of the three kinds of answer. */
const CONTENT_TYPES: Record<MaintenanceResponseKind, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  problem: `${PROBLEM}; charset=utf-8`,
};

/** The variable fields of an answer: the message in `lang`, the end and the seconds of Retry-After. */
function answerFields(
  config: MaintenanceConfig,
  state: MaintenanceState,
  retry: ReturnType<typeof retryAfterFor>,
  lang: string,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const message = pickText(state.message, lang, config.defaultLocale);
  if (message !== undefined) fields.message = message;
  if (retry.end) fields.end = retry.end.toISOString();
  if (retry.seconds !== undefined) fields.retryAfter = retry.seconds;
  return fields;
}

/** The text of an answer of `kind` in `lang` (the page rendered, or the JSON / RFC 9457 document). */
function answerText(
  config: MaintenanceConfig,
  render: Renderer,
  kind: MaintenanceResponseKind,
  lang: string,
  fields: Record<string, unknown>,
  retry: ReturnType<typeof retryAfterFor>,
  extra: object,
): string {
  const t = config.catalogs[lang];
  if (kind === 'json') return JSON.stringify({ maintenance: true, ...fields, ...extra });
  if (kind === 'problem') {
    // RFC 9457: about:blank + the status phrase as title; retryAfter and end as extension members.
    return JSON.stringify({
      type: 'about:blank',
      title: STATUS_CODES[config.statusCode] ?? 'Service Unavailable',
      status: config.statusCode,
      detail: (fields.message as string | undefined) ?? t.problemDetail,
      ...(fields.retryAfter !== undefined ? { retryAfter: fields.retryAfter } : {}),
      ...(fields.end !== undefined ? { end: fields.end } : {}),
      ...extra,
    });
  }
  return render({ statusCode: config.statusCode, endText: retry.end?.toUTCString(), lang, t, ...fields, ...extra });
}

/**
 * The maintenance answer for `state` as static files would hold it (`maintenance-mode render`): the page and its
 * JSON twin in `lang`, with the `Retry-After` value a proxy should send (undefined: none).
 */
export function staticAnswer(
  config: MaintenanceConfig,
  render: Renderer,
  state: MaintenanceState,
  lang: string,
  now: Date,
): { html: string; json: string; retryAfter?: string } {
  const retry = retryAfterFor({ ...state, enabled: true, start: undefined }, config.retryAfter, now);
  const fields = answerFields(config, state, retry, lang);
  return {
    html: answerText(config, render, 'html', lang, fields, retry, {}),
    json: answerText(config, render, 'json', lang, fields, retry, {}),
    retryAfter: retry.seconds === undefined ? undefined : String(retry.seconds),
  };
}

/** Headers up to this length (what browsers send) have their negotiated language remembered. */
const REMEMBERED_HEADER_LENGTH = 128;

/**
 * The answer's language for a request: negotiated from `Accept-Language` among `locales` (results kept for the last
 * 256 distinct browser-sized headers; a longer one is negotiated within the limits and not kept, so hostile headers
 * neither evict browsers' choices nor stay in memory), with `Content-Language` and, when there is a choice,
 * `Vary: Accept-Language`.
 */
function createLanguagePicker(config: MaintenanceConfig): (ctx: ParameterizedContext) => string {
  const choice = config.locales.length > 1;
  const known = new Map<string, string>();
  return (ctx) => {
    if (!choice) {
      ctx.set('Content-Language', config.defaultLocale);
      return config.defaultLocale;
    }
    vary(ctx, 'Accept-Language');
    const header = ctx.get('Accept-Language');
    let lang = header.length <= REMEMBERED_HEADER_LENGTH ? known.get(header) : undefined;
    if (lang === undefined) {
      lang = negotiateLocale(header, config.locales, config.defaultLocale);
      if (header.length <= REMEMBERED_HEADER_LENGTH) {
        if (known.size >= 256) known.clear();
        known.set(header, lang);
      }
    }
    ctx.set('Content-Language', lang);
    return lang;
  };
}

/** Builds the responder for one `maintenance()` configuration. */
export function createResponder(config: MaintenanceConfig, render: Renderer): Responder {
  // Without getContext the answer depends only on the state and Retry-After, so the last bytes of each kind are reused
  // until they change (with an end, Retry-After seconds change once a second): a blocked request costs no template work.
  // One slot per kind and language, so visitors of different languages do not evict each other's bytes. A slot is
  // valid for the same state object (states are immutable) and the same Retry-After seconds: no key to build.
  const cache = new Map<string, { state: MaintenanceState; seconds: number | undefined; body: Buffer }>();
  const slotOf = (kind: MaintenanceResponseKind, lang: string) =>
    lang === config.defaultLocale ? kind : `${kind}:${lang}`;
  const language = createLanguagePicker(config);

  const plainText = (ctx: ParameterizedContext, err: unknown) => {
    report(ctx, err);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = PLAIN_TEXT_BODY;
  };

  /** Everything but getContext, which is the only asynchronous part. */
  const write = (
    ctx: ParameterizedContext,
    state: MaintenanceState,
    retry: ReturnType<typeof retryAfterFor>,
    extra: object,
  ) => {
    const lang = language(ctx);
    const kind = kindFor(ctx, config);
    ctx.type = CONTENT_TYPES[kind];
    const cacheable = config.getContext === undefined;
    const slot = slotOf(kind, lang);
    const last = cacheable ? cache.get(slot) : undefined;
    if (last !== undefined && last.state === state && last.seconds === retry.seconds) {
      ctx.body = last.body;
      return;
    }
    try {
      const fields = answerFields(config, state, retry, lang);
      const body = Buffer.from(answerText(config, render, kind, lang, fields, retry, extra));
      if (cacheable) cache.set(slot, { state, seconds: retry.seconds, body });
      ctx.body = body;
    } catch (err) {
      plainText(ctx, err);
    }
  };

  return (ctx, state, decision, now = new Date()) => {
    neverCache(ctx, now.getTime());
    if (decision.action === 'redirect' && config.redirectUrl !== undefined) {
      ctx.redirect(config.redirectUrl);
      return;
    }
    const retry = retryAfterFor(state, config.retryAfter, now);
    ctx.status = config.statusCode;
    if (retry.header !== undefined) ctx.set('Retry-After', retry.header);
    const getContext = config.getContext;
    if (!getContext) return write(ctx, state, retry, {});
    return (async () => {
      let extra: object;
      try {
        extra = (await getContext(ctx)) ?? {};
      } catch (err) {
        plainText(ctx, err);
        return;
      }
      write(ctx, state, retry, extra);
    })();
  };
}
