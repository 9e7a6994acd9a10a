/** Request handlers of the toggle routes, shared by `maintenanceRoutes()` and the routing-controllers controller. */
import type { ParameterizedContext } from 'koa';
import { MaintenanceError } from '../core/errors.js';
import { type HistoryEntry, summarize } from '../core/history.js';
import { checkScopeName } from '../core/scope.js';
import { isActive, type MaintenanceState, MESSAGE_MAX_LENGTH } from '../core/state.js';
import { scopesBody, statusBody } from '../core/status.js';
import { defaultService } from '../service/service.js';
import { neverCache } from './respond.js';
import { actorOf, isCrossSite, type MaintenanceRoutesConfig, safeNextPath } from './toggle-rules.js';

/** Handlers for `/on`, `/off`, `/status` and the status page `/`. */
export interface ToggleHandlers {
  readonly on: (ctx: ParameterizedContext) => Promise<void>;
  readonly off: (ctx: ParameterizedContext) => Promise<void>;
  readonly status: (ctx: ParameterizedContext) => Promise<void>;
  readonly page: (ctx: ParameterizedContext) => Promise<void>;
}

/** Renders the status page from its context (see `views/maintenance-status.html`). */
export type StatusPageRenderer = (context: Record<string, unknown>) => string;

/** A refused change (forced mode) is a conflict, bad input (a message over the limit) the client's; the rest the store's. */
const STATUS_OF: Partial<Record<MaintenanceError['code'], number>> = {
  ERR_MAINTENANCE_MODE_FORCED: 409,
  ERR_MAINTENANCE_INVALID_SCHEDULE: 400,
  ERR_MAINTENANCE_INVALID_SCOPE: 400,
};

const wantsJson = (ctx: ParameterizedContext) => ctx.accepts('html', 'json') === 'json';

function answer(ctx: ParameterizedContext, status: number, error: string, message: string): void {
  ctx.status = status;
  neverCache(ctx);
  if (wantsJson(ctx)) ctx.body = { error, message };
  else {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = `${message}\n`;
  }
}

/** Builds the handlers for one configuration. */
export function createToggleHandlers(config: MaintenanceRoutesConfig, renderPage?: StatusPageRenderer): ToggleHandlers {
  const service = () => config.service ?? defaultService();

  async function allowed(ctx: ParameterizedContext): Promise<boolean> {
    // Not ctx.origin: since Koa 3 that returns the request's Origin header, not this site's origin.
    const ownOrigin = `${ctx.protocol}://${ctx.host}`;
    const source = { secFetchSite: ctx.get('Sec-Fetch-Site'), origin: ctx.get('Origin'), referer: ctx.get('Referer') };
    if (isCrossSite(source, ownOrigin)) {
      answer(ctx, 403, 'cross_site', 'Cross-site requests cannot switch maintenance mode.');
      return false;
    }
    const superuser = config.isSuperuser
      ? await config.isSuperuser(ctx)
      : (ctx.state.user as { isSuperuser?: boolean } | undefined)?.isSuperuser === true;
    if (superuser !== true) {
      answer(ctx, 403, 'forbidden', 'Only superusers can switch maintenance mode.');
      return false;
    }
    return true;
  }

  const bodyOf = (ctx: ParameterizedContext) =>
    ((ctx.request as { body?: unknown }).body ?? undefined) as Record<string, unknown> | undefined;

  function nextOf(ctx: ParameterizedContext): string {
    return safeNextPath(ctx.query.next ?? bodyOf(ctx)?.next);
  }

  /** The scope a request switches or asks about: `?scope=` or a `scope` form field; empty means the whole site. */
  function scopeOf(ctx: ParameterizedContext): string | undefined {
    const raw = ctx.query.scope ?? bodyOf(ctx)?.scope;
    if (raw === undefined || raw === '') return undefined;
    return checkScopeName(raw);
  }

  /** Answers a refused change or read: 409 forced mode, 400 bad input, 503 a store that failed. */
  function refuse(ctx: ParameterizedContext, err: unknown, what: string): void {
    if (!(err instanceof MaintenanceError)) throw err;
    answer(ctx, STATUS_OF[err.code] ?? 503, err.code, `${what}: ${err.message}`);
  }

  function toggle(target: boolean) {
    return async function toggleMaintenance(ctx: ParameterizedContext): Promise<void> {
      if (!(await allowed(ctx))) return;
      if (ctx.method === 'HEAD') {
        // @koa/router answers HEAD with the GET handler: a HEAD must never change the state.
        ctx.status = 204;
        return;
      }
      const s = service();
      let after: MaintenanceState;
      let scope: string | undefined;
      try {
        scope = scopeOf(ctx);
        const current = await s.getStoredState(scope);
        after = current;
        const unchanged = target ? isActive(current, new Date()) : !current.enabled;
        if (!unchanged) {
          const by = config.getUpdatedBy ? config.getUpdatedBy(ctx) : actorOf(ctx.state.user);
          // A form may send a message (when a body parser runs before the routes).
          const raw = bodyOf(ctx)?.message;
          const message = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined;
          const opts = { by, source: 'routes', scope };
          await (target ? s.enable({ ...opts, message }) : s.disable(opts));
          after = scope === undefined ? s.lastKnownState() : await s.getStoredState(scope);
        }
      } catch (err) {
        refuse(ctx, err, `Maintenance mode was not switched ${target ? 'on' : 'off'}`);
        return;
      }
      neverCache(ctx);
      if (wantsJson(ctx)) {
        ctx.body = { ...statusBody(after, new Date()), ...(scope === undefined ? {} : { scope }) };
        return;
      }
      ctx.redirect(nextOf(ctx));
    };
  }

  return {
    on: toggle(true),
    off: toggle(false),
    async status(ctx) {
      if (!(await allowed(ctx))) return;
      const s = service();
      const now = new Date();
      let scope: string | undefined;
      try {
        scope = scopeOf(ctx);
      } catch (err) {
        refuse(ctx, err, 'No status');
        return;
      }
      neverCache(ctx);
      if (scope !== undefined) {
        ctx.body = { ...statusBody(await s.getState(scope), now), scope };
        return;
      }
      const scopes = [...(await s.scopeStates())].map(([name, state]) => ({ scope: name, state }));
      ctx.body = { ...statusBody(await s.getState(), now), scopes: scopesBody(scopes, now) };
    },
    async page(ctx) {
      if (!(await allowed(ctx))) return;
      const s = service();
      const now = new Date();
      let state: MaintenanceState;
      let history: HistoryEntry[] = [];
      let scopes: Array<{ scope: string; state: MaintenanceState }> = [];
      try {
        state = await s.getStoredState();
        scopes = await s.scopes();
        history = await s.history(20);
      } catch (err) {
        if (!(err instanceof MaintenanceError)) throw err;
        answer(ctx, 503, err.code, `The maintenance state cannot be read: ${err.message}`);
        return;
      }
      neverCache(ctx);
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = (renderPage as StatusPageRenderer)({
        ...statusBody(state, now),
        summary: summarize(state, now),
        prefix: config.prefix,
        messageMaxLength: MESSAGE_MAX_LENGTH,
        store: s.storeDescription,
        history,
        scopes: scopes.map(({ scope, state: scoped }) => ({
          scope,
          summary: summarize(scoped, now),
          ...statusBody(scoped, now),
        })),
      });
    },
  };
}
