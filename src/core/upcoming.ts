/** Announcing a maintenance window ahead: what a page, a banner or a status endpoint says about it. Pure. */
import { pickText } from './i18n.js';
import type { MaintenanceState } from './state.js';

/** A window that starts later: `ctx.state.maintenanceUpcoming`, the public status and the banner. */
export interface UpcomingWindow {
  /** ISO-8601 start. */
  readonly start: string;
  /** ISO-8601 end, when the window has one. */
  readonly end?: string;
  /** The window's message, in the visitor's language when it has several. */
  readonly message?: string;
  /** The scope of the window; absent for the whole site. */
  readonly scope?: string;
  /** `start` as an HTTP date in UTC ("Tue, 01 Dec 2026 02:00:00 GMT"), for templates without date filters. */
  readonly startText: string;
  /** `end` as an HTTP date in UTC. */
  readonly endText?: string;
  /** `start` as people read it, in `lang`, with its zone named ("Dec 6, 2026, 02:00 AM UTC"): what the banner shows. */
  readonly startLabel?: string;
  /** `end` likewise. */
  readonly endLabel?: string;
  /** The language of the announcement (the visitor's, negotiated by `maintenance()`). */
  readonly lang?: string;
  /** The banner's label in `lang` ("Scheduled maintenance:"), from the middleware's catalogs. */
  readonly label?: string;
  /** The full stop after the times in `lang` (`.` or `。`). */
  readonly fullStop?: string;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** An instant as people read it in `locale`, in UTC with the zone named (one formatter per language, kept). */
function readable(ms: number, locale: string): string {
  let format = formats.get(locale);
  if (format === undefined) {
    const options: Intl.DateTimeFormatOptions = {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: 'UTC',
      timeZoneName: 'short',
    };
    try {
      format = new Intl.DateTimeFormat(locale, options);
    } catch {
      format = new Intl.DateTimeFormat('en', options);
    }
    if (formats.size < 64) formats.set(locale, format);
  }
  return format.format(ms);
}

/**
 * Whether `state` is a window to announce at `now`: enabled, not a dry run (a rehearsal stays private), starting
 * after `now` and within `withinMs` (Infinity: any time later). Cheap: no allocation, no language negotiation.
 */
export function startsWithin(state: MaintenanceState, now: Date, withinMs: number): boolean {
  if (!state.enabled || state.start === undefined || state.dryRun === true) return false;
  const ahead = Date.parse(state.start) - now.getTime();
  return ahead > 0 && ahead <= withinMs;
}

/** Which announcement {@link upcomingWindow} looks for. */
export interface UpcomingQuery {
  /** The scope the state belongs to; undefined for the whole site. */
  readonly scope: string | undefined;
  /** How far ahead a start is announced, in milliseconds (`Infinity`: any later start). */
  readonly withinMs: number;
  /** The language of the labels and the message. @default 'en' */
  readonly locale?: string;
}

/**
 * The window of `state` when {@link startsWithin} says it is one to announce; undefined otherwise. A message in
 * several languages is given in `locale` (or its base language, or any).
 */
export function upcomingWindow(state: MaintenanceState, now: Date, within: UpcomingQuery): UpcomingWindow | undefined {
  const { scope, withinMs, locale = 'en' } = within;
  if (!startsWithin(state, now, withinMs)) return undefined;
  const start = Date.parse(state.start as string);
  const out: { -readonly [K in keyof UpcomingWindow]: UpcomingWindow[K] } = {
    start: state.start as string,
    startText: new Date(start).toUTCString(),
  };
  out.startLabel = readable(start, locale);
  if (state.end !== undefined) {
    out.end = state.end;
    out.endText = new Date(Date.parse(state.end)).toUTCString();
    out.endLabel = readable(Date.parse(state.end), locale);
  }
  const message = typeof state.message === 'string' ? state.message : pickText(state.message, locale, locale);
  if (message !== undefined) out.message = message;
  if (scope !== undefined) out.scope = scope;
  return out;
}
