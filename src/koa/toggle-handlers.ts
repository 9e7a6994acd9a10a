/** Request handlers of the toggle routes, shared by `maintenanceRoutes()` and the routing-controllers controller. */
import { randomBytes } from 'node:crypto';
import type { ParameterizedContext } from 'koa';
import { checkBodyShape } from '../core/body-shape.js';
import { hashSecret } from '../core/bypass.js';
import { httpStatusOf, MaintenanceError } from '../core/errors.js';
import { type HistoryEntry, summarize } from '../core/history.js';
import { type LocalizedText, negotiateLocale } from '../core/i18n.js';
import { icsFeed } from '../core/ics.js';
import type { Fleet } from '../core/presence.js';
import { checkScopeName } from '../core/scope.js';
import { blocksRequests, type MaintenanceState, MESSAGE_MAX_LENGTH, OFF_STATE } from '../core/state.js';
import { fleetSummary, scopesBody, statusBody } from '../core/status.js';
import { ON_NOTES } from '../core/switch-on.js';
import type { RecurringWindow } from '../core/windows.js';
import { describeRule, RULE_TEXT_LANGUAGES } from '../service/recurrence-rule.js';
import { defaultService, type MaintenanceService } from '../service/service.js';
import type { SwitchOutcome } from '../service/switching.js';
import { createLiveEvents } from './live-events.js';
import { liveScript, serveLiveScript } from './live-script.js';
import { publicBody, publicWindows, readerMessage, readPublicView } from './public-view.js';
import { createRenderer, type Renderer } from './render.js';
import { neverCache } from './respond.js';
import { actorOf, isCrossSite, type MaintenanceRoutesConfig, safeNextPath, windowRequest } from './toggle-rules.js';

/** Handlers for `/on`, `/off`, `/status`, the status page `/` and `/public.json`. */
export interface ToggleHandlers {
  readonly on: (ctx: ParameterizedContext) => Promise<void>;
  readonly off: (ctx: ParameterizedContext) => Promise<void>;
  readonly status: (ctx: ParameterizedContext) => Promise<void>;
  readonly page: (ctx: ParameterizedContext) => Promise<void>;
  readonly publicStatus: (ctx: ParameterizedContext) => Promise<void>;
  /** `POST /windows`: adds a recurring window (superusers, same-site; form or JSON). */
  readonly addWindow: (ctx: ParameterizedContext) => Promise<void>;
  /** `POST /windows/:id/remove`: removes one (superusers, same-site). */
  readonly removeWindow: (ctx: ParameterizedContext) => Promise<void>;
  /** `windows.ics`: the recurring windows' next occurrences as an iCalendar feed. */
  readonly calendar: (ctx: ParameterizedContext) => Promise<void>;
  /** `events`: what `public.json` says as Server-Sent Events, with `live` (see live-events.ts). */
  readonly events: (ctx: ParameterizedContext) => Promise<void>;
  /** `live.js`: the script of live pages. */
  readonly liveScript: (ctx: ParameterizedContext) => Promise<void>;
}

/** Renders the status page from its context (see `views/maintenance-status.html`). */
export type StatusPageRenderer = (context: Record<string, unknown>) => string;

const wantsJson = (ctx: ParameterizedContext) => ctx.accepts('html', 'json') === 'json';

let refusedPage: Renderer | undefined;

/** Titles of the refusal page, by HTTP status. */
const REFUSED_TITLES: Readonly<Record<number, string>> = {
  403: 'Not allowed',
  409: 'Not switched',
  400: 'Not switched',
};

/** A refusal's answer: its status and code, its words, and for the page a title and a link to the status page. */
interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly message: string;
  readonly title?: string;
  readonly statusPage?: string;
}

/** A refusal: JSON for scripts, a small page for browsers, plain text for the rest (curl). */
function answer(ctx: ParameterizedContext, { status, error, message, title, statusPage }: Refusal): void {
  ctx.status = status;
  neverCache(ctx);
  const kind = ctx.accepts('json', 'html', 'text');
  if (kind === 'json' && wantsJson(ctx)) ctx.body = { error, message };
  else if (kind === 'html' && ctx.get('Accept').includes('html')) {
    refusedPage ??= createRenderer({ viewsDir: [], template: 'maintenance-refused.html' });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = refusedPage({ title: title ?? REFUSED_TITLES[status] ?? 'Maintenance mode', message, statusPage });
  } else {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `${message}\n`;
  }
}

/**
 * A switch whose outcome is unknown (the store did not answer in time: the write may still land): the state is read
 * again and said as it is now, on the styled page with the way back to the status page, so nobody switches blind.
 */
async function unknownOutcome(r: Routes, ctx: ParameterizedContext, target: boolean, err: MaintenanceError) {
  let scope: string | undefined;
  try {
    scope = scopeOf(ctx);
  } catch {
    scope = undefined;
  }
  const where = scope === undefined ? '' : ` for scope ${scope}`;
  const now = await r
    .service()
    .stateInForceNow(scope)
    .then(
      (state) =>
        `Read again just now, maintenance mode${where} is ${blocksRequests(state, new Date()) ? 'on' : 'off'}.`,
      () => 'It could not be read again yet: look at the status page before switching again.',
    );
  const message = `Switching maintenance mode ${target ? 'on' : 'off'} may or may not have happened: ${err.message} ${now}`;
  answer(ctx, { status: 503, error: err.code, message, title: 'Outcome unknown', statusPage: `${r.config.prefix}/` });
}

/** Answers a refused change or read: 409 forced mode, 400 bad input, 503 a store that failed. */
function refuse(ctx: ParameterizedContext, err: unknown, what: string): void {
  if (!(err instanceof MaintenanceError)) throw err;
  answer(ctx, { status: httpStatusOf(err.code), error: err.code, message: `${what}: ${err.message}` });
}

const bodyOf = (ctx: ParameterizedContext) =>
  ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>;

/** The fields the routes read as text (`durationMinutes` may be a JSON number); flags may hold anything. */
const TEXT_FIELDS = ['message', 'messages', 'start', 'end', 'scope', 'next', 'rrule', 'tz', 'id', 'durationMinutes'];

/**
 * Checks the body (parsed by the app's body parser) before a change: its shape (depth, prototype keys at any level)
 * and that each text field is a text, so a field a parser made an object or a list of (`message[en]=…`,
 * `{"message":{…}}`, a repeated field) is refused naming it, never dropped while the change goes ahead.
 */
function checkFormBody(ctx: ParameterizedContext): void {
  const body = bodyOf(ctx);
  checkBodyShape(body);
  for (const name of TEXT_FIELDS) {
    const v = Object.hasOwn(body, name) ? body[name] : undefined;
    if (v === undefined || typeof v === 'string' || typeof v === 'number') continue;
    const got = Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : typeof v;
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      `${name} must be a text (one form field, or a JSON string); received ${got}.`,
    );
  }
}

/** The scope a request switches or asks about: `?scope=` or a `scope` form field; empty means the whole site. */
function scopeOf(ctx: ParameterizedContext): string | undefined {
  const raw = ctx.query.scope ?? bodyOf(ctx).scope;
  if (raw === undefined || raw === '') return undefined;
  return checkScopeName(raw);
}

/** The scope a status request asks about, or false once an invalid one was answered with 400. */
function statusScopeOf(ctx: ParameterizedContext): string | undefined | false {
  try {
    return scopeOf(ctx);
  } catch (err) {
    refuse(ctx, err, 'No status');
    return false;
  }
}

/** What the handlers of one configuration share. */
interface Routes {
  readonly config: MaintenanceRoutesConfig;
  readonly renderPage?: StatusPageRenderer;
  service(): MaintenanceService;
}

/** What a request asks to do, as the refusal names it. */
type Asks = 'switch maintenance mode' | 'see the maintenance status' | 'change maintenance windows';

/** Same-site and superuser: answers 403 (and returns false) otherwise. */
async function allowed(r: Routes, ctx: ParameterizedContext, asks: Asks): Promise<boolean> {
  // Not ctx.origin: since Koa 3 that returns the request's Origin header, not this site's origin.
  const ownOrigin = `${ctx.protocol}://${ctx.host}`;
  const source = { secFetchSite: ctx.get('Sec-Fetch-Site'), origin: ctx.get('Origin'), referer: ctx.get('Referer') };
  if (isCrossSite(source, ownOrigin)) {
    answer(ctx, { status: 403, error: 'cross_site', message: 'Cross-site requests cannot switch maintenance mode.' });
    return false;
  }
  const superuser = r.config.isSuperuser
    ? await r.config.isSuperuser(ctx)
    : (ctx.state.user as { isSuperuser?: boolean } | undefined)?.isSuperuser === true;
  if (superuser !== true) {
    // Someone not signed in at all is told what would let them in; someone signed in is told what they lack.
    const hint = ctx.state.user === undefined ? ' Sign in as a superuser first.' : '';
    answer(ctx, { status: 403, error: 'forbidden', message: `Only superusers can ${asks}.${hint}` });
    return false;
  }
  return true;
}

/** The outcome of a switch, and the bypass secret made for the window (shown once). */
type Switched = SwitchOutcome & { readonly secret?: string };

/**
 * Switches on or off by the service's one switch path (`switchOn`/`switchOff`), as the CLI and the control API do;
 * the status page's plan form replaces the window (`replace`). A form may send window fields (when a body parser runs
 * before the routes); a query may too.
 */
async function switchState(r: Routes, ctx: ParameterizedContext, target: boolean): Promise<Switched> {
  checkFormBody(ctx);
  const s = r.service();
  const scope = scopeOf(ctx);
  const by = r.config.getUpdatedBy ? r.config.getUpdatedBy(ctx) : actorOf(ctx.state.user);
  const actor = { by, source: 'routes', ...(scope !== undefined ? { scope } : {}) };
  if (!target) return s.switchOff(actor);
  const { bypass, replace, ...fields } = windowRequest({ ...ctx.query, ...bodyOf(ctx) });
  const secret = bypass ? randomBytes(16).toString('hex') : undefined;
  const done = await s.switchOn({
    ...fields,
    ...(secret ? { bypassHash: hashSecret(secret) } : {}),
    ...(replace ? { replace: true } : {}),
    ...actor,
  });
  return secret === undefined || !done.changed ? done : { ...done, secret };
}

function toggle(r: Routes, target: boolean) {
  return async function toggleMaintenance(ctx: ParameterizedContext): Promise<void> {
    if (!(await allowed(r, ctx, 'switch maintenance mode'))) return;
    if (ctx.method === 'HEAD') {
      // @koa/router answers HEAD with the GET handler: a HEAD must never change the state.
      ctx.status = 204;
      return;
    }
    let done: Switched;
    try {
      done = await switchState(r, ctx, target);
    } catch (err) {
      if ((err as MaintenanceError).code === 'ERR_MAINTENANCE_STORE_WRITE_UNKNOWN') {
        return unknownOutcome(r, ctx, target, err as MaintenanceError);
      }
      refuse(ctx, err, `Maintenance mode was not switched ${target ? 'on' : 'off'}`);
      return;
    }
    neverCache(ctx);
    if (wantsJson(ctx)) {
      ctx.body = {
        ...statusBody(done.state, new Date()),
        ...(done.scope === undefined ? {} : { scope: done.scope }),
        ...(done.secret === undefined ? {} : { bypassPath: `/${done.secret}` }),
        changed: done.changed,
        ...(done.notes.length === 0 ? {} : { notes: done.notes.map((n) => ON_NOTES[n]) }),
      };
      return;
    }
    // A new bypass link is shown once, on the status page itself: never in a redirect URL, a log or the history.
    if (done.secret !== undefined) return page(r, ctx, `${ctx.protocol}://${ctx.host}/${done.secret}`);
    ctx.redirect(safeNextPath(ctx.query.next ?? bodyOf(ctx).next));
  };
}

async function status(r: Routes, ctx: ParameterizedContext): Promise<void> {
  if (!(await allowed(r, ctx, 'see the maintenance status'))) return;
  const s = r.service();
  const now = new Date();
  const scope = statusScopeOf(ctx);
  if (scope === false) return;
  neverCache(ctx);
  if (scope !== undefined) {
    ctx.body = { ...statusBody(await s.getState(scope), now), scope };
    return;
  }
  const scopes = [...(await s.scopeStates())].map(([name, state]) => ({ scope: name, state }));
  const fleet = await fleetOrNone(s);
  ctx.body = {
    ...statusBody(await s.getState(), now),
    scopes: scopesBody(scopes, now),
    ...(fleet ? { fleet: fleetSummary(fleet) } : {}),
  };
}

/** The fleet, when the store keeps one and can be read now; undefined otherwise (the status answers anyway). */
function fleetOrNone(s: MaintenanceService): Promise<Fleet | undefined> {
  return s.fleet().catch(() => undefined);
}

/** The status page: the state, the scopes, the history and the forms; `bypassLink` is a link made just now. */
async function page(r: Routes, ctx: ParameterizedContext, bypassLink?: string): Promise<void> {
  if (bypassLink === undefined && !(await allowed(r, ctx, 'see the maintenance status'))) return;
  const s = r.service();
  const now = new Date();
  let stored: MaintenanceState | undefined;
  let history: HistoryEntry[];
  let scopes: Array<{ scope: string; state: MaintenanceState }>;
  let unreadable: string | undefined;
  let fleet: Fleet | undefined;
  try {
    // A corrupt state is shown as such, with the switches that overwrite it: this page is where it gets mended.
    stored = await s.storedStateForSwitch();
    if (stored === undefined) {
      unreadable = await s.getStoredState().then(
        () => undefined, // mended meanwhile
        (err: Error) => err.message,
      );
    }
    scopes = await s.scopes();
    history = await s.history(20);
    fleet = await fleetOrNone(s);
  } catch (err) {
    refuse(ctx, err, 'The maintenance state cannot be read');
    return;
  }
  // What operators see is the state in force: a recurring window's occurrence in progress shows as on.
  const state = stored === undefined ? OFF_STATE : s.stateInForceOf(stored);
  neverCache(ctx);
  ctx.status = 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = (r.renderPage as StatusPageRenderer)({
    ...statusBody(state, now),
    summary: summarize(state, now),
    prefix: r.config.prefix,
    liveSrc: `${r.config.prefix}/live.js?v=${liveScript().version}`,
    messageMaxLength: MESSAGE_MAX_LENGTH,
    store: s.storeDescription,
    history: history.map((e) => ({ ...e, messageView: readerView(ctx, e.message) })),
    fleet: fleet && {
      ...fleetSummary(fleet),
      members: fleet.instances.map((i) => ({ ...i, behind: !i.stale && i.applied < fleet.revision })),
    },
    bypassLink,
    unreadable,
    windows: windowsView(
      s,
      stored ?? OFF_STATE,
      negotiateLocale(ctx.get('Accept-Language'), RULE_TEXT_LANGUAGES, 'en'),
    ),
    scopes: scopes.map(({ scope, state: scoped }) => ({
      scope,
      summary: summarize(scoped, now),
      ...statusBody(scoped, now),
      messageView: readerView(ctx, scoped.message),
    })),
  });
}

/** The windows for the status page: each with its next occurrences, in UTC and in its own zone. */
function windowsView(s: MaintenanceService, state: MaintenanceState, language: string) {
  const occurrences = s.upcoming({ count: 50 });
  return (state.windows ?? []).map((w) => ({
    ...w,
    description: describeRule(w, language),
    next: occurrences
      .filter((o) => o.window.id === w.id)
      .slice(0, 3)
      .map((o) => ({
        start: o.start.toISOString(),
        end: o.end.toISOString(),
        local: o.start.toLocaleString('sv-SE', { timeZone: w.tz }).slice(0, 16),
      })),
  }));
}

/** A message as the reader of `ctx` sees it: in their language, with its other languages named. */
function readerView(ctx: ParameterizedContext, message: string | LocalizedText | undefined) {
  return readerMessage(ctx.get('Accept-Language'), message);
}

/**
 * `public.json`: for everyone, cross-origin too; the state in force for `?scope=` when given. A message in several
 * languages is given in the reader's (`Accept-Language`, among the message's own languages), with `lang` naming it.
 */
async function publicStatus(r: Routes, ctx: ParameterizedContext): Promise<void> {
  const s = r.service();
  const scope = statusScopeOf(ctx);
  if (scope === false) return;
  const now = new Date();
  const view = await readPublicView(s, scope, now);
  neverCache(ctx);
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.vary('Accept-Language');
  ctx.body = publicBody(s, view, ctx.get('Accept-Language'), now);
}

/** Who makes a window change: as for a switch. */
function byOf(r: Routes, ctx: ParameterizedContext): { by?: string } {
  const by = r.config.getUpdatedBy ? r.config.getUpdatedBy(ctx) : actorOf(ctx.state.user);
  return by === undefined ? {} : { by };
}

/** A field of the window form, trimmed; empty is absent. */
function field(ctx: ParameterizedContext, name: string): string | undefined {
  const v = bodyOf(ctx)[name];
  const text = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  return text === '' ? undefined : text;
}

/** Adds the window the form (or JSON body) defines; the page again, or the window as JSON. */
async function addWindow(r: Routes, ctx: ParameterizedContext): Promise<void> {
  if (!(await allowed(r, ctx, 'change maintenance windows'))) return;
  const message = field(ctx, 'message');
  const scope = field(ctx, 'scope');
  const id = field(ctx, 'id');
  let added: RecurringWindow;
  try {
    checkFormBody(ctx);
    added = await r.service().addWindow({
      rrule: field(ctx, 'rrule') ?? '',
      tz: field(ctx, 'tz') ?? 'UTC',
      start: field(ctx, 'start') ?? '',
      durationMinutes: Number(field(ctx, 'durationMinutes')),
      ...(id !== undefined ? { id } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(scope !== undefined ? { scope } : {}),
      ...(field(ctx, 'readOnly') ? { readOnly: true } : {}),
      ...(field(ctx, 'dryRun') ? { dryRun: true } : {}),
      ...byOf(r, ctx),
    });
  } catch (err) {
    refuse(ctx, err, 'The window was not added');
    return;
  }
  neverCache(ctx);
  if (wantsJson(ctx)) {
    ctx.status = 201;
    ctx.body = added;
    return;
  }
  ctx.redirect(safeNextPath(ctx.query.next ?? bodyOf(ctx).next));
}

/** Removes the window named in the path. */
async function removeWindow(r: Routes, ctx: ParameterizedContext): Promise<void> {
  if (!(await allowed(r, ctx, 'change maintenance windows'))) return;
  try {
    checkFormBody(ctx);
    await r.service().removeWindow(String((ctx as { params?: { id?: string } }).params?.id), byOf(r, ctx));
  } catch (err) {
    refuse(ctx, err, 'The window was not removed');
    return;
  }
  neverCache(ctx);
  if (wantsJson(ctx)) ctx.status = 204;
  else ctx.redirect(safeNextPath(ctx.query.next ?? bodyOf(ctx).next));
}

/** `windows.ics`: the next occurrences (up to 100) as an iCalendar feed calendar apps subscribe to. */
async function calendar(r: Routes, ctx: ParameterizedContext): Promise<void> {
  const s = r.service();
  const scope = statusScopeOf(ctx);
  if (scope === false) return;
  await s.getState(); // read at least once
  neverCache(ctx);
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.type = 'text/calendar; charset=utf-8';
  ctx.body = icsFeed(publicWindows(s, scope, 100, ctx.get('Accept-Language')), new Date());
}

/** `/events` without `live`: never routed (the table leaves it out), answered 404 should it be called. */
async function notServed(ctx: ParameterizedContext): Promise<void> {
  ctx.status = 404;
}

/** Builds the handlers for one configuration. */
export function createToggleHandlers(config: MaintenanceRoutesConfig, renderPage?: StatusPageRenderer): ToggleHandlers {
  const r: Routes = { config, renderPage, service: () => config.service ?? defaultService() };
  const live = config.live && createLiveEvents({ caps: config.live, service: r.service, scopeOf: statusScopeOf });
  return {
    events: live ? live.handle : notServed,
    liveScript: serveLiveScript,
    on: toggle(r, true),
    off: toggle(r, false),
    status: (ctx) => status(r, ctx),
    page: (ctx) => page(r, ctx),
    publicStatus: (ctx) => publicStatus(r, ctx),
    calendar: (ctx) => calendar(r, ctx),
    addWindow: (ctx) => addWindow(r, ctx),
    removeWindow: (ctx) => removeWindow(r, ctx),
  };
}
