/**
 * Notifications: webhooks told when maintenance is switched on or off, scheduled, or about to start. Which targets
 * want an event, what is posted (generic JSON or a Slack-compatible `{ text }`), how it is signed, and when the
 * events nobody writes (reminders, windows that start or end) fall due. Pure.
 */
import { createHmac } from 'node:crypto';
import type { StateSummary } from './history.js';
import { pickText } from './i18n.js';
import type { MaintenanceState } from './state.js';
import { statusBody } from './status.js';
import { invalidOption, knownEntries } from './validate.js';

/** An event a webhook can be told of. */
export type NotifyEvent = 'enabled' | 'disabled' | 'scheduled' | 'reminder';

/** Every event, the default of `events`. */
export const NOTIFY_EVENTS: readonly NotifyEvent[] = Object.freeze(['enabled', 'disabled', 'scheduled', 'reminder']);

/** One webhook of `MaintenanceServiceOptions.notify`. */
export interface NotifyTarget {
  /** Where to POST: an http(s) URL (a Slack incoming webhook, or your own endpoint). */
  readonly url: string;
  /** The events it is told of. @default every event */
  readonly events?: readonly NotifyEvent[];
  /** Signs each post: `X-Maintenance-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256(secret, "<t>.<body>")>`. @default unsigned */
  readonly secret?: string;
  /** `'json'`: `{ event, state, scope?, at, … }`; `'slack'`: `{ text }` for Slack-compatible webhooks. @default 'json' */
  readonly format?: 'json' | 'slack';
  /** Minutes before a planned start at which a `reminder` is posted (e.g. `[60, 10]`). @default [] (no reminder) */
  readonly remindBeforeMinutes?: readonly number[];
}

/** A {@link NotifyTarget} after validation. */
export interface NotifyConfig {
  /** The URL posted to, without its credentials. */
  readonly url: string;
  /** `Basic …` from the URL's user and password (fetch refuses a URL with credentials). */
  readonly authorization?: string;
  /** The URL as logs and errors show it: scheme, host and port only (a Slack URL's path is its secret). */
  readonly shown: string;
  readonly events: ReadonlySet<NotifyEvent>;
  readonly secret?: string;
  readonly format: 'json' | 'slack';
  readonly remindBeforeMs: readonly number[];
}

const TARGET_KEYS = ['url', 'events', 'secret', 'format', 'remindBeforeMinutes'] as const;

/** A webhook URL as it may be shown: its origin, without credentials, path or query (which may hold a secret). */
export function shownWebhook(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' && u.search === '' ? '' : '/…'}`;
  } catch {
    return '<unparsable URL>';
  }
}

function resolveTarget(input: unknown, i: number): NotifyConfig {
  const at = `notify[${i}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    invalidOption(at, 'must be an object such as { url: "https://hooks.example.com/…" }', input);
  }
  const o = knownEntries(input, TARGET_KEYS, at);
  const url = o.url;
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    invalidOption(`${at}.url`, 'must be an http:// or https:// URL', typeof url === 'string' ? shownWebhook(url) : url);
  }
  const events = (o.events ?? NOTIFY_EVENTS) as unknown[];
  if (!Array.isArray(events) || events.some((e) => !NOTIFY_EVENTS.includes(e as NotifyEvent))) {
    invalidOption(`${at}.events`, `must list some of ${NOTIFY_EVENTS.join(', ')}`, o.events);
  }
  if ('secret' in o && (typeof o.secret !== 'string' || o.secret.length < 16)) {
    invalidOption(`${at}.secret`, 'must be a string of at least 16 characters (e.g. openssl rand -hex 32)', '<hidden>');
  }
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'slack') invalidOption(`${at}.format`, "must be 'json' or 'slack'", format);
  const remind = (o.remindBeforeMinutes ?? []) as unknown[];
  if (!Array.isArray(remind) || remind.some((m) => typeof m !== 'number' || !(m > 0) || m > 10_080)) {
    invalidOption(`${at}.remindBeforeMinutes`, 'must list minutes between 0 and 10080 (a week), e.g. [60, 10]', remind);
  }
  const authorization =
    parsed.username || parsed.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
      : undefined;
  parsed.username = '';
  parsed.password = '';
  return Object.freeze({
    url: parsed.toString(),
    ...(authorization !== undefined ? { authorization } : {}),
    shown: shownWebhook(parsed.toString()),
    events: new Set(events as NotifyEvent[]),
    ...(o.secret !== undefined ? { secret: o.secret as string } : {}),
    format,
    remindBeforeMs: [...new Set((remind as number[]).map((m) => Math.round(m * 60_000)))],
  }) as NotifyConfig;
}

/** Validates `notify` (fail fast, naming the entry and the fix). */
export function resolveNotify(input: unknown): readonly NotifyConfig[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) invalidOption('notify', 'must be an array of webhooks such as [{ url }]', input);
  return Object.freeze(input.map(resolveTarget));
}

/** What a notification is about. */
export interface Notification {
  readonly event: NotifyEvent;
  readonly state: MaintenanceState;
  readonly scope?: string;
  readonly at: Date;
  /** For a reminder: how long before the start it is sent. */
  readonly beforeMs?: number;
  /** The recurring window it comes from, if any. */
  readonly windowId?: string;
}

/** The generic JSON body: `{ event, state, scope?, at, remindBeforeMinutes?, windowId? }` (never a bypass secret). */
export function jsonBody(n: Notification): Record<string, unknown> {
  return {
    event: n.event,
    state: statusBody(n.state, n.at),
    ...(n.scope !== undefined ? { scope: n.scope } : {}),
    at: n.at.toISOString(),
    ...(n.beforeMs !== undefined ? { remindBeforeMinutes: n.beforeMs / 60_000 } : {}),
    ...(n.windowId !== undefined ? { windowId: n.windowId } : {}),
  };
}

const when = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso).toUTCString());

/**
 * Slack's text escaping (https://api.slack.com/reference/surfaces/formatting#escaping): `&`, `<` and `>` as entities,
 * so a message cannot ping `<!channel>`, mention `<@U…>` or show a masked link `<https://evil|https://shop>`.
 */
const slackText = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The Slack-compatible body: one line of text saying what happened, escaped for Slack. */
export function slackBody(n: Notification): { text: string } {
  const where = n.scope === undefined ? 'Maintenance' : `Maintenance of ${n.scope}`;
  const message = typeof n.state.message === 'object' ? pickText(n.state.message, 'en', 'en') : n.state.message;
  const until = when(n.state.end);
  const tail = [message, until && `Until ${until}.`].filter(Boolean).join(' ');
  const text = {
    enabled: `${where} has started.`,
    disabled: `${where} has ended.`,
    scheduled: `${where} is scheduled from ${when(n.state.start) ?? 'now'}.`,
    reminder: `${where} starts in ${Math.round((n.beforeMs ?? 0) / 60_000)} minutes (${when(n.state.start)}).`,
  }[n.event];
  return { text: slackText(n.event === 'disabled' || tail === '' ? text : `${text} ${tail}`) };
}

/** The raw body a target gets for `n`. */
export function bodyFor(target: NotifyConfig, n: Notification): string {
  return JSON.stringify(target.format === 'slack' ? slackBody(n) : jsonBody(n));
}

/** The `X-Maintenance-Signature` header value of `body` sent at `unixSeconds`. */
export function signature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},sha256=${mac}`;
}

/** What people are told a state is: on (read-only too), scheduled, or off (a dry run is a rehearsal: off). */
const told = (s: StateSummary) => (s === 'on' || s === 'read-only' ? 'on' : s === 'scheduled' ? 'scheduled' : 'off');

/**
 * The event a written change is, told by its writer: undefined when it changes nothing a person would be told of
 * (a message edited, a dry run).
 */
export function changeEvent(before: StateSummary, after: StateSummary): NotifyEvent | undefined {
  const [from, to] = [told(before), told(after)];
  if (from === to) return undefined;
  return to === 'on' ? 'enabled' : to === 'off' ? 'disabled' : 'scheduled';
}

/** A planned window, as the clock sees it: a scheduled state, or an occurrence of a recurring window. */
export interface PlannedWindow {
  readonly state: MaintenanceState;
  /** Undefined: it started when it was switched on (its writer said so). */
  readonly start?: number;
  readonly end?: number;
  readonly scope?: string;
  readonly windowId?: string;
}

/** An event that falls due at `due`, with the claim name that makes it sent once per fleet. */
export interface DueEvent {
  readonly due: number;
  readonly claim: string;
  readonly notification: Notification;
}

/**
 * The events planned windows cause by themselves: a reminder `offset` ms before each start, `enabled` at the start and
 * `disabled` at its end (a scheduled state, a state switched on until a time, an occurrence). Sorted by time.
 */
export function plannedEvents(windows: readonly PlannedWindow[], offsets: readonly number[]): DueEvent[] {
  const out: DueEvent[] = [];
  for (const w of windows) {
    const id = `${w.scope ?? ''}:${w.windowId ?? ''}:${w.start ?? ''}:${w.end ?? ''}`;
    const make = (event: NotifyEvent, due: number, beforeMs?: number): DueEvent => ({
      due,
      claim: `${event}:${id}${beforeMs === undefined ? '' : `:${beforeMs}`}`,
      notification: {
        event,
        state: event === 'disabled' ? { enabled: false } : w.state,
        at: new Date(due),
        ...(w.scope !== undefined ? { scope: w.scope } : {}),
        ...(beforeMs !== undefined ? { beforeMs } : {}),
        ...(w.windowId !== undefined ? { windowId: w.windowId } : {}),
      },
    });
    if (w.start !== undefined) {
      for (const offset of offsets) out.push(make('reminder', w.start - offset, offset));
      out.push(make('enabled', w.start));
    }
    if (w.end !== undefined) out.push(make('disabled', w.end));
  }
  return out.sort((a, b) => a.due - b.due);
}

/** A stored state as a planned window, if it is one (enabled, no dry run, with a start or an end). */
function plannedState(state: MaintenanceState, scope?: string): PlannedWindow | undefined {
  if (!state.enabled || state.dryRun || (state.start === undefined && state.end === undefined)) return undefined;
  return {
    state,
    ...(state.start !== undefined ? { start: Date.parse(state.start) } : {}),
    ...(state.end !== undefined ? { end: Date.parse(state.end) } : {}),
    ...(scope !== undefined ? { scope } : {}),
  };
}

/** The planned windows of the global state, the scoped states and the next occurrences (given as states). */
export function plannedWindows(
  global: MaintenanceState,
  scopes: ReadonlyMap<string, MaintenanceState>,
  occurrences: ReadonlyArray<{ state: MaintenanceState; scope?: string; windowId: string }>,
): PlannedWindow[] {
  const out: PlannedWindow[] = [];
  const own = plannedState(global);
  if (own) out.push(own);
  for (const [scope, state] of scopes) {
    const p = plannedState(state, scope);
    if (p) out.push(p);
  }
  for (const o of occurrences) {
    const p = plannedState(o.state, o.scope);
    if (p) out.push({ ...p, windowId: o.windowId });
  }
  return out;
}
