/**
 * The control API's request handlers (shared by `maintenanceApi()` and the routing-controllers controller): each
 * authenticates, checks the permission and the scope, reads and validates its body, acts through the service and
 * answers JSON; every error is an RFC 9457 problem document, and nothing changes when a request is refused.
 */
import type { ParameterizedContext } from 'koa';
import { httpStatusOf, MaintenanceError } from '../../core/errors.js';
import type { HistoryEntry } from '../../core/history.js';
import type { Fleet } from '../../core/presence.js';
import { stateInForce } from '../../core/scope.js';
import { fleetSummary, scopesBody, statusBody } from '../../core/status.js';
import { ON_NOTES } from '../../core/switch-on.js';
import { type RecurringWindow, windowsOf } from '../../core/windows.js';
import { describeRule } from '../../service/recurrence-rule.js';
import { defaultService, FLEET_WAIT_DEFAULTS, type MaintenanceService } from '../../service/service.js';
import type { SwitchOutcome } from '../../service/switching.js';
import { authenticate, type Caller, permitted, scopeFor } from './auth.js';
import { readBody } from './body.js';
import type { MaintenanceOffBody, MaintenanceOnBody, WaitBody, WindowBody } from './dto.js';
import type { MaintenanceApiConfig } from './options.js';
import { answerProblem } from './problem.js';
import { API_ROUTES, type ApiHandlerName, type ApiRoute } from './spec.js';
import { createWaitSlots, type WaitRefusal, type WaitSlots } from './wait-slots.js';

/** A handler of one route. */
export type ApiHandler = (ctx: ParameterizedContext) => Promise<void>;

/** What one request's action gets: the context, the caller, the service, the route's body and the API's open waits. */
interface Call<B = undefined> {
  readonly ctx: ParameterizedContext;
  readonly caller: Caller;
  readonly s: MaintenanceService;
  readonly body: B;
  readonly waits: WaitSlots;
}

/** The field a validation message starts with ("end (…) is not in the future" → end). */
const fieldOf = (message: string) => /^([A-Za-z][\w.]*)/.exec(message)?.[1] ?? '';

/** Answers a `MaintenanceError` as a problem; anything else is answered 500 and handed to Koa's error event. */
function refuse(ctx: ParameterizedContext, err: unknown): void {
  if (!(err instanceof MaintenanceError)) {
    ctx.app.emit('error', err, ctx);
    answerProblem(ctx, {
      status: 500,
      code: 'internal',
      detail: 'The request failed on the server; its log says why.',
    });
    return;
  }
  const status = httpStatusOf(err.code);
  const code = err.code.replace(/^ERR_MAINTENANCE_/, '').toLowerCase();
  const extra: Record<string, unknown> =
    status === 400 ? { errors: err.errors ?? [{ field: fieldOf(err.message), detail: err.message }] } : {};
  if (err.fleet) extra.fleet = err.fleet;
  answerProblem(ctx, { status, code, detail: err.message, extra });
}

const json = (ctx: ParameterizedContext, status: number, body: unknown) => {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
};

/** The windows a caller sees: a scoped token sees its scope's and the site-wide ones. */
const visible = (caller: Caller, w: { scope?: string }) =>
  caller.token?.scope === undefined || w.scope === undefined || w.scope === caller.token.scope;

/** `GET /state`: the global state's fields plus scopes, windows and the fleet (a scoped token: its scope's view). */
async function state({ ctx, caller, s }: Call): Promise<void> {
  const now = new Date();
  const own = caller.token?.scope;
  const stored = await s.getStoredState();
  // What operators see is the state in force: a recurring window's occurrence in progress shows as on.
  const global = s.stateInForceOf(stored);
  const all = [...(await s.scopeStates())].filter(([name]) => own === undefined || name === own);
  const fleet = await s.fleet(own).catch(() => undefined);
  const head =
    own === undefined
      ? statusBody(global, now)
      : { ...statusBody(stateInForce(global, await s.stateInForceNow(own), own, now).state, now), scope: own };
  json(ctx, 200, {
    ...head,
    scopes: scopesBody(
      all.map(([scope, st]) => ({ scope, state: st })),
      now,
    ),
    windows: windowsBody(caller, s, windowsOf(stored)),
    fleet: fleet ? fleetSummary(fleet) : null,
  });
}

/** The windows and their next three occurrences. */
function windowsBody(caller: Caller, s: MaintenanceService, windows: readonly RecurringWindow[]) {
  const occurrences = s.upcoming({ count: 50 });
  return windows
    .filter((w) => visible(caller, w))
    .map((w) => ({
      ...w,
      description: describeRule(w),
      next: occurrences
        .filter((o) => o.window.id === w.id)
        .slice(0, 3)
        .map((o) => ({ start: o.start.toISOString(), end: o.end.toISOString() })),
    }));
}

/** `POST /on`: the service's switch path, as the CLI and the toggle routes take it. */
async function on({ ctx, caller, s, body }: Call<MaintenanceOnBody>): Promise<void> {
  const scope = scopeFor(ctx, caller, body.scope);
  if (scope === false) return;
  const done = await s.switchOn({
    ...(body.message !== undefined ? { message: body.message } : {}),
    ...(body.start !== undefined ? { start: body.start } : {}),
    ...(body.end !== undefined ? { end: body.end } : {}),
    ...(body.readOnly ? { readOnly: true as const } : {}),
    ...(body.dryRun ? { dryRun: true as const } : {}),
    by: caller.by,
    source: 'api',
    ...(scope !== undefined ? { scope } : {}),
  });
  json(ctx, 200, switchedBody(done));
}

/** `POST /off`: the service's switch path (an occurrence in progress is ended). */
async function off({ ctx, caller, s, body }: Call<MaintenanceOffBody>): Promise<void> {
  const scope = scopeFor(ctx, caller, body.scope);
  if (scope === false) return;
  const done = await s.switchOff({ by: caller.by, source: 'api', ...(scope !== undefined ? { scope } : {}) });
  json(ctx, 200, switchedBody(done));
}

/** What a switch answers: the status after it, whether it changed anything, and its notes. */
function switchedBody(done: SwitchOutcome) {
  return {
    ...statusBody(done.state, new Date()),
    ...(done.scope !== undefined ? { scope: done.scope } : {}),
    changed: done.changed,
    ...(done.notes.length > 0 ? { notes: done.notes.map((n) => ON_NOTES[n]) } : {}),
  };
}

/** `GET /windows`. */
async function windows({ ctx, caller, s }: Call): Promise<void> {
  json(ctx, 200, { windows: windowsBody(caller, s, await s.windows()) });
}

/** `POST /windows`. */
async function addWindow({ ctx, caller, s, body }: Call<WindowBody>): Promise<void> {
  const scope = scopeFor(ctx, caller, body.scope);
  if (scope === false) return;
  const added = await s.addWindow({
    ...body,
    ...(scope !== undefined ? { scope } : {}),
    ...(caller.by !== undefined ? { by: caller.by } : {}),
  });
  json(ctx, 201, added);
}

/** `DELETE /windows/:id`: a scoped token removes its scope's windows only. */
async function removeWindow({ ctx, caller, s }: Call): Promise<void> {
  const id = String((ctx as { params?: { id?: string } }).params?.id ?? '');
  const found = (await s.windows()).find((w) => w.id === id);
  if (!found || !visible(caller, found) || (caller.token?.scope !== undefined && found.scope === undefined)) {
    answerProblem(ctx, { status: 404, code: 'unknown_window', detail: `No window has the id ${JSON.stringify(id)}.` });
    return;
  }
  await s.removeWindow(id, caller.by === undefined ? {} : { by: caller.by });
  ctx.status = 204;
}

/** `GET /history?limit=`: newest first; a scoped token sees its scope's entries. */
async function history({ ctx, caller, s }: Call): Promise<void> {
  const raw = ctx.query.limit;
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    const detail = 'limit must be a whole number from 1 to 200';
    answerProblem(ctx, {
      status: 400,
      code: 'invalid_query',
      detail,
      extra: { errors: [{ field: 'limit', detail }] },
    });
    return;
  }
  const own = caller.token?.scope;
  const entries: HistoryEntry[] = await s.history(limit);
  json(ctx, 200, { entries: own === undefined ? entries : entries.filter((e) => e.scope === own) });
}

/** `GET /fleet`. */
async function fleet({ ctx, caller, s }: Call): Promise<void> {
  const asked = typeof ctx.query.scope === 'string' ? ctx.query.scope : undefined;
  const scope = scopeFor(ctx, caller, asked);
  if (scope === false) return;
  json(ctx, 200, await s.fleet(scope));
}

/**
 * `POST /wait`: resolves when the fleet settled; 504 with the fleet when it did not in time; 429 past the bounds of
 * open waits. The wait ends (and frees its slot) when its client hangs up.
 */
async function wait({ ctx, caller, s, body, waits }: Call<WaitBody>): Promise<void> {
  const scope = scopeFor(ctx, caller, body.scope);
  if (scope === false) return;
  const now = Date.now();
  const slot = waits.take(callerKey(caller), now + (body.timeoutMs ?? FLEET_WAIT_DEFAULTS.timeoutMs), now);
  if (!slot.ok) return tooManyWaits(ctx, caller, slot);
  const hangUp = new AbortController();
  const gone = () => hangUp.abort();
  ctx.res.once('close', gone); // the client hung up: nobody reads the answer, stop listing the fleet for it
  try {
    const settled: Fleet = await s.waitForFleet({
      ...body,
      ...(scope !== undefined ? { scope } : {}),
      signal: hangUp.signal,
    });
    json(ctx, 200, settled);
  } finally {
    ctx.res.off('close', gone);
    slot.release();
  }
}

/** Whose waits are counted together: a token's, or a signed-in user's. */
const callerKey = (caller: Caller) => (caller.token ? `token:${caller.token.id}` : `session:${caller.by ?? ''}`);

/** 429 with `Retry-After`: the bound met, and when a slot frees at the latest. */
function tooManyWaits(ctx: ParameterizedContext, caller: Caller, refused: WaitRefusal): void {
  ctx.set('Retry-After', String(refused.retryAfterSeconds));
  const who = caller.token ? 'This token' : 'This user';
  const detail =
    refused.bound === 'caller'
      ? `${who} already waits ${refused.limit} times (maxWaitsPerToken: ${refused.limit}); retry after ${refused.retryAfterSeconds} s, or when one of its waits has ended.`
      : `This instance already holds ${refused.limit} waits (maxWaits: ${refused.limit}); retry after ${refused.retryAfterSeconds} s.`;
  answerProblem(ctx, { status: 429, code: 'too_many_waits', detail });
}

const ACTIONS: Record<Exclude<ApiHandlerName, 'openapi'>, (call: Call<never>) => Promise<void>> = {
  state,
  on,
  off,
  windows,
  addWindow,
  removeWindow,
  history,
  fleet,
  wait,
};

/** The handler of `route`: authentication, permission, body, action, and errors as problems. */
function handlerOf(
  route: ApiRoute,
  config: MaintenanceApiConfig,
  document: () => object,
  waits: WaitSlots,
): ApiHandler {
  if (route.handler === 'openapi') return async (ctx) => json(ctx, 200, document());
  const action = ACTIONS[route.handler];
  return async (ctx) => {
    try {
      const s = config.service ?? defaultService();
      const caller = await authenticate(ctx, config, s);
      if (!caller || !permitted(ctx, caller, route.permission ?? 'read')) return;
      let body: unknown;
      if (route.body) {
        const read = await readBody(ctx, route.body, config.bodyLimitBytes);
        if (!read.ok) {
          const { status, code, detail, errors } = read.problem;
          answerProblem(ctx, { status, code, detail, extra: errors ? { errors } : {} });
          return;
        }
        body = read.body;
      }
      await action({ ctx, caller, s, body: body as never, waits });
    } catch (err) {
      refuse(ctx, err);
    }
  };
}

/** Every route with its handler, for one configuration. */
export function createApiHandlers(
  config: MaintenanceApiConfig,
  document: () => object,
): Array<{ route: ApiRoute; handle: ApiHandler }> {
  const waits = createWaitSlots({ perCaller: config.maxWaitsPerToken, total: config.maxWaits });
  return API_ROUTES.map((route) => ({ route, handle: handlerOf(route, config, document, waits) }));
}

/** The answer for a path under the prefix that is no route (404) or a route with another method (405). */
export function unknownRoute(ctx: ParameterizedContext, allowed: readonly string[]): void {
  if (allowed.length === 0) {
    answerProblem(ctx, {
      status: 404,
      code: 'not_found',
      detail: `No API route ${ctx.method} ${ctx.path}; GET openapi.json lists them.`,
    });
    return;
  }
  ctx.set('Allow', allowed.join(', '));
  answerProblem(ctx, { status: 405, code: 'method_not_allowed', detail: `${ctx.path} answers ${allowed.join(', ')}.` });
}
