/**
 * What anyone may read about maintenance (`public.json`, and every event of `/events`): the states it is made of, read
 * through the service's caches, and its JSON body for a reader's `Accept-Language`. One function makes both answers,
 * so the stream says exactly what `public.json` says.
 */
import { type LocalizedText, messageView, negotiateLocale } from '../core/i18n.js';
import type { LiveView } from '../core/live.js';
import { type StateInForce, stateInForce } from '../core/scope.js';
import type { MaintenanceState } from '../core/state.js';
import { publicStatusBody } from '../core/status.js';
import { type PublicOccurrence, publicOccurrence } from '../core/windows.js';
import type { MaintenanceService } from '../service/service.js';

/** The states of a public answer, read at one instant. */
export interface PublicView extends LiveView {
  /** The state in force for the scope (or the whole site), with the scope whose state it is. */
  readonly inForce: StateInForce;
}

/** Reads the view of `scope` (or the whole site) through the service's caches: no store read while they are fresh. */
export async function readPublicView(s: MaintenanceService, scope: string | undefined, now: Date): Promise<PublicView> {
  const global = await s.getState();
  if (scope === undefined) return { global, inForce: { state: global } };
  const own = await s.getState(scope);
  const scoped: MaintenanceState | undefined = own.enabled ? own : undefined;
  return { global, scope, scoped, inForce: stateInForce(global, own, scope, now) };
}

/** The language a reader with `acceptLanguage` gets `message` in: the best of the message's own languages. */
export function readerLanguage(acceptLanguage: string, message: LocalizedText): string {
  const tags = Object.keys(message);
  return negotiateLocale(acceptLanguage, tags, 'en' in message ? 'en' : tags[0]);
}

/** A message as a reader with `acceptLanguage` sees it: in their language, with its other languages named. */
export function readerMessage(acceptLanguage: string, message: string | LocalizedText | undefined) {
  return typeof message === 'object'
    ? messageView(message, readerLanguage(acceptLanguage, message), 'en')
    : messageView(message, 'en', 'en');
}

/** The next `count` occurrences anyone may see (dry runs are private), their messages in the reader's language. */
export function publicWindows(
  s: MaintenanceService,
  scope: string | undefined,
  count: number,
  acceptLanguage: string,
): PublicOccurrence[] {
  return s.upcoming({ count, dryRuns: false, ...(scope !== undefined ? { scope } : {}) }).map((o) => {
    const p = publicOccurrence(o);
    const message = p.message === undefined ? undefined : readerMessage(acceptLanguage, p.message).text;
    const { message: _, ...rest } = p;
    return message === undefined ? rest : { ...rest, message };
  });
}

/**
 * The body of `public.json` for `view` and a reader with `acceptLanguage`: `{ active, start?, end?, message?, lang?,
 * readOnly?, scope?, upcoming?, windows? }` (a message in several languages in the reader's, `lang` naming it).
 */
export function publicBody(
  s: MaintenanceService,
  view: PublicView,
  acceptLanguage: string,
  now: Date,
): Record<string, unknown> {
  const { state, scope } = view.inForce;
  const message = state.message;
  const lang = typeof message === 'object' ? readerLanguage(acceptLanguage, message) : undefined;
  const body = publicStatusBody(state, scope, now, lang);
  const windows = publicWindows(s, view.scope, 10, acceptLanguage);
  return windows.length > 0 ? { ...body, windows } : body;
}
