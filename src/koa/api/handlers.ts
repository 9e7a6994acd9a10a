/**
 * The control API's request handlers (shared by `maintenanceApi()` and the routing-controllers controller): each
 * authenticates, checks the permission and the scope, reads and validates its body, acts through the service and
 * answers JSON; every error is an RFC 9457 problem document, and nothing changes when a request is refused.
 */
import type { ParameterizedContext } from 'koa';
import { defaultService, type MaintenanceService } from '../../service/service.js';
import {
  type ActionCall,
  addWindowAs,
  fleetOf,
  historyOf,
  listWindows,
  type Outcome,
  problemOf,
  readState,
  removeWindowAs,
  switchOffAs,
  switchOnAs,
  waitFor,
} from './actions.js';
import { authenticate, type Caller, permitted } from './auth.js';
import { checkedBody, readBody } from './body.js';
import { HistoryQuery, ScopeQuery, type WaitBody } from './dto.js';
import type { MaintenanceApiConfig } from './options.js';
import { answerProblem } from './problem.js';
import { API_ROUTES, type ApiHandlerName, type ApiRoute } from './spec.js';
import { createWaitSlots, type WaitSlots } from './wait-slots.js';

/** A handler of one route. */
export type ApiHandler = (ctx: ParameterizedContext) => Promise<void>;

/** What one request's action gets: the context, the caller, the service, the route's body and the API's open waits. */
interface Call {
  readonly ctx: ParameterizedContext;
  readonly caller: Caller;
  readonly s: MaintenanceService;
  readonly body: unknown;
  readonly waits: WaitSlots;
}

/** Answers a `MaintenanceError` as a problem; anything else is answered 500 and handed to Koa's error event. */
function refuse(ctx: ParameterizedContext, err: unknown): void {
  const problem = problemOf(err);
  if (problem) {
    answerProblem(ctx, problem);
    return;
  }
  ctx.app.emit('error', err, ctx);
  answerProblem(ctx, { status: 500, code: 'internal', detail: 'The request failed on the server; its log says why.' });
}

/** Answers an action's outcome: its JSON with the route's status (204: no body), or its problem. */
function answer(ctx: ParameterizedContext, route: ApiRoute, outcome: Outcome): void {
  if (!outcome.ok) {
    if (outcome.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(outcome.retryAfterSeconds));
    answerProblem(ctx, outcome.problem);
    return;
  }
  ctx.status = route.success;
  ctx.set('Cache-Control', 'no-store');
  if (route.success !== 204) ctx.body = outcome.value;
}

/** The action call of a request (its checked body as `body`). */
const actionCall = <B>(call: Call, body: B): ActionCall<B> => ({
  caller: call.caller,
  s: call.s,
  body,
  source: 'api',
});

/** A query of a GET route checked as its DTO (`?limit=abc` is a 400 naming limit), or undefined once answered. */
async function queryOf<T extends object>(ctx: ParameterizedContext, cls: new () => T, values: Record<string, unknown>) {
  const checked = await checkedBody(values, cls);
  if (checked.ok) return checked.body;
  const errors = checked.problem.errors ?? [];
  const detail = errors.map((e) => e.detail).join('; ') || checked.problem.detail;
  answerProblem(ctx, { status: 400, code: 'invalid_query', detail, extra: { errors } });
  return undefined;
}

/** `GET /history?limit=` (1..200, default 50). */
async function history(call: Call): Promise<Outcome | undefined> {
  const raw = call.ctx.query.limit;
  const query = await queryOf(call.ctx, HistoryQuery, raw === undefined ? {} : { limit: Number(raw) });
  return query && historyOf(actionCall(call, query));
}

/** `GET /fleet?scope=`. */
async function fleet(call: Call): Promise<Outcome | undefined> {
  const asked = call.ctx.query.scope;
  return fleetOf(actionCall(call, Object.assign(new ScopeQuery(), typeof asked === 'string' ? { scope: asked } : {})));
}

/** `POST /wait`: the wait ends (and frees its slot) when its client hangs up. */
async function wait(call: Call): Promise<Outcome> {
  const hangUp = new AbortController();
  const gone = () => hangUp.abort();
  call.ctx.res.once('close', gone); // the client hung up: nobody reads the answer, stop listing the fleet for it
  try {
    return await waitFor({ ...actionCall(call, call.body as WaitBody), waits: call.waits, signal: hangUp.signal });
  } finally {
    call.ctx.res.off('close', gone);
  }
}

/** `DELETE /windows/:id`. */
const removeWindow = (call: Call) => {
  const id = String((call.ctx as { params?: { id?: string } }).params?.id ?? '');
  return removeWindowAs(actionCall(call, { id }));
};

const ACTIONS: Record<Exclude<ApiHandlerName, 'openapi'>, (call: Call) => Promise<Outcome | undefined>> = {
  state: (call) => readState(actionCall(call, {})),
  on: (call) => switchOnAs(actionCall(call, call.body as never)),
  off: (call) => switchOffAs(actionCall(call, call.body as never)),
  windows: (call) => listWindows(actionCall(call, undefined)),
  addWindow: (call) => addWindowAs(actionCall(call, call.body as never)),
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
  if (route.handler === 'openapi') {
    return async (ctx) => answer(ctx, route, { ok: true, value: document() as Record<string, unknown> });
  }
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
      const outcome = await action({ ctx, caller, s, body, waits });
      if (outcome) answer(ctx, route, outcome);
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
