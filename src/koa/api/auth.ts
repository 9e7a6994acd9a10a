/**
 * Who calls the control API: a bearer token (checked against the store on every request, so a revoked one is refused
 * everywhere at once) or a superuser's session (same-site only). A failed token check never says whether the token
 * exists, has expired or was revoked, and no token ever appears in an answer, a log or the history.
 */
import type { ParameterizedContext } from 'koa';
import { MaintenanceError } from '../../core/errors.js';
import { type TokenInfo, type TokenPermission, tokenActor } from '../../core/tokens.js';
import type { MaintenanceService } from '../../service/service.js';
import { actorOf, isCrossSite } from '../toggle-rules.js';
import type { MaintenanceApiConfig } from './options.js';
import { answerProblem, type Problem } from './problem.js';

/** A caller that passed authentication. */
export interface Caller {
  /** Recorded in the history as `updatedBy`. */
  readonly by?: string;
  /** The token, when the caller used one (a session may do anything). */
  readonly token?: TokenInfo;
}

const unauthorized = (ctx: ParameterizedContext, detail: string) => {
  ctx.set('WWW-Authenticate', 'Bearer realm="maintenance-mode"');
  answerProblem(ctx, { status: 401, code: 'unauthorized', detail });
};

/** The caller, or undefined once a 401/403/503 has been answered. */
export async function authenticate(
  ctx: ParameterizedContext,
  config: MaintenanceApiConfig,
  service: MaintenanceService,
): Promise<Caller | undefined> {
  const header = ctx.get('Authorization');
  if (header !== '') {
    const m = /^Bearer[ \t]+(\S{1,512})[ \t]*$/i.exec(header);
    if (!m) return void unauthorized(ctx, 'Send the token as "Authorization: Bearer <token>".');
    let token: TokenInfo | undefined;
    try {
      token = await service.authenticateToken(m[1]);
    } catch (err) {
      if (!(err instanceof MaintenanceError)) throw err;
      return void answerProblem(ctx, {
        status: 503,
        code: 'store_unavailable',
        detail: 'The token cannot be checked now: the store is unreachable.',
      });
    }
    if (!token) return void unauthorized(ctx, 'The token is not valid: it is unknown, expired or revoked.');
    return { token, by: tokenActor(token) };
  }
  const ownOrigin = `${ctx.protocol}://${ctx.host}`;
  const source = { secFetchSite: ctx.get('Sec-Fetch-Site'), origin: ctx.get('Origin'), referer: ctx.get('Referer') };
  if (isCrossSite(source, ownOrigin)) {
    return void answerProblem(ctx, {
      status: 403,
      code: 'cross_site',
      detail: 'Cross-site requests cannot use the maintenance API.',
    });
  }
  const superuser = config.isSuperuser
    ? await config.isSuperuser(ctx)
    : (ctx.state.user as { isSuperuser?: boolean } | undefined)?.isSuperuser === true;
  if (superuser !== true) {
    return void unauthorized(ctx, 'Send a token ("Authorization: Bearer <token>") or sign in as a superuser.');
  }
  const by = config.getUpdatedBy ? config.getUpdatedBy(ctx) : actorOf(ctx.state.user);
  return by === undefined ? {} : { by };
}

/** Why `caller` may not use `permission` (a 403 problem), or undefined when it may (a session may do anything). */
export function permissionProblem(caller: Caller, permission: TokenPermission): Problem | undefined {
  if (!caller.token || caller.token.allow.includes(permission)) return undefined;
  return {
    status: 403,
    code: 'forbidden',
    detail: `This token may not ${permission === 'read' ? 'read' : `use "${permission}"`}; it allows ${caller.token.allow.join(', ')}.`,
  };
}

/** Whether `caller` holds `permission`; answers 403 (and returns false) otherwise. */
export function permitted(ctx: ParameterizedContext, caller: Caller, permission: TokenPermission): boolean {
  const problem = permissionProblem(caller, permission);
  if (problem) answerProblem(ctx, problem);
  return problem === undefined;
}

/** The scope a call acts on, or why it may not (a 403 problem). */
export type ScopeChoice = { readonly scope: string | undefined } | { readonly problem: Problem };

/**
 * The scope a call acts on: the one asked for, else the token's own. A token scoped to S may act on S only (the
 * answer is then a 403 problem for any other scope).
 */
export function chooseScope(caller: Caller, asked: string | undefined): ScopeChoice {
  const own = caller.token?.scope;
  if (own === undefined || asked === undefined || asked === own) return { scope: asked ?? own };
  return { problem: { status: 403, code: 'wrong_scope', detail: `This token may act on the scope "${own}" only.` } };
}

/**
 * The scope a request acts on (see {@link chooseScope}); answers 403 and returns false when the token may not act on
 * the scope asked for.
 */
export function scopeFor(
  ctx: ParameterizedContext,
  caller: Caller,
  asked: string | undefined,
): string | undefined | false {
  const choice = chooseScope(caller, asked);
  if ('scope' in choice) return choice.scope;
  answerProblem(ctx, choice.problem);
  return false;
}
