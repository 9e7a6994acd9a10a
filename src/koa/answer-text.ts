/** What the maintenance answer says: its fields, its text (the page, JSON or an RFC 9457 document) and `Retry-After`. */
import { STATUS_CODES } from 'node:http';
import { pickText } from '../core/i18n.js';
import { isActive, type MaintenanceState } from '../core/state.js';
import type { LivePage } from './live-link.js';
import type { MaintenanceConfig, MaintenanceResponseKind } from './options.js';
import type { Renderer } from './render.js';

/** What answers are written with: the resolved options and the template, both made once per configuration. */
export interface AnswerKit {
  readonly config: MaintenanceConfig;
  readonly render: Renderer;
}

/** An answer's `Retry-After`: the header's value, its seconds (for the body), and the window's end when it has one. */
export interface RetryAfter {
  readonly header?: string;
  readonly seconds?: number;
  readonly end?: Date;
}

/** One answer to write: its kind and language, its `Retry-After`, and what `getContext` added to the template's. */
export interface AnswerSpec {
  readonly kind: MaintenanceResponseKind;
  readonly lang: string;
  readonly retry: RetryAfter;
  readonly extra: object;
  /** The live script's attributes (`live` in the page's context), when the page follows `/events`. */
  readonly live?: LivePage;
}

/** `Retry-After` value and seconds: the end of the active window wins over the configured `retryAfter`. */
export function retryAfterFor(state: MaintenanceState, retryAfter: number | null, now: Date): RetryAfter {
  if (state.end !== undefined && isActive(state, now)) {
    const end = new Date(state.end);
    return { header: end.toUTCString(), seconds: Math.max(0, Math.ceil((end.getTime() - now.getTime()) / 1000)), end };
  }
  if (retryAfter === null) return {};
  return { header: String(retryAfter), seconds: retryAfter };
}

/** The variable fields of an answer: the message in `lang`, the end and the seconds of Retry-After. */
function answerFields(
  config: MaintenanceConfig,
  state: MaintenanceState,
  retry: RetryAfter,
  lang: string,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const message = pickText(state.message, lang, config.defaultLocale);
  if (message !== undefined) fields.message = message;
  if (retry.end) fields.end = retry.end.toISOString();
  if (retry.seconds !== undefined) fields.retryAfter = retry.seconds;
  return fields;
}

/** The text of the answer `spec` describes for `state`: the page rendered, or the JSON / RFC 9457 document. */
export function answerText(kit: AnswerKit, state: MaintenanceState, spec: AnswerSpec): string {
  const { config, render } = kit;
  const { kind, lang, retry, extra, live } = spec;
  const fields = answerFields(config, state, retry, lang);
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
  const page = { statusCode: config.statusCode, endText: retry.end?.toUTCString(), lang, t, ...fields };
  return render(live === undefined ? { ...page, ...extra } : { ...page, live, ...extra });
}

/**
 * The maintenance answer for `state` as static files would hold it (`maintenance-mode render`): the page and its
 * JSON twin in `lang`, with the `Retry-After` value a proxy should send (undefined: none).
 */
export function staticAnswer(
  kit: AnswerKit,
  state: MaintenanceState,
  lang: string,
  now: Date,
): { html: string; json: string; retryAfter?: string } {
  const retry = retryAfterFor({ ...state, enabled: true, start: undefined }, kit.config.retryAfter, now);
  return {
    html: answerText(kit, state, { kind: 'html', lang, retry, extra: {} }),
    json: answerText(kit, state, { kind: 'json', lang, retry, extra: {} }),
    retryAfter: retry.seconds === undefined ? undefined : String(retry.seconds),
  };
}
