/**
 * The app's hooks as the middleware calls them: a hook that throws is reported through `app.emit('error')` and the
 * request goes on safely (anonymous user, no logout, no address), so a broken hook never turns maintenance into 500s.
 */
import type { ParameterizedContext } from 'koa';
import type { MaintenanceUser } from '../core/decide.js';
import { normalizeIp } from '../core/ip.js';
import type { MaintenanceConfig } from './options.js';
import { report } from './respond.js';

/** The request's user: `getUser(ctx)`, else `ctx.state.user`; undefined (anonymous) when the hook throws. */
export async function findUser(
  ctx: ParameterizedContext,
  config: MaintenanceConfig,
): Promise<MaintenanceUser | undefined> {
  try {
    return config.getUser ? await config.getUser(ctx) : (ctx.state.user as MaintenanceUser | undefined);
  } catch (err) {
    report(ctx, err);
    return undefined;
  }
}

/**
 * Ends the session: `logout(ctx)`, else `ctx.logout?.()`, then `ctx.session = null` and `ctx.state.user = undefined`.
 * Resolves true when the user was logged out, false when the hook threw (the user may still be signed in).
 */
export async function logout(ctx: ParameterizedContext, config: MaintenanceConfig): Promise<boolean> {
  try {
    if (config.logout) {
      await config.logout(ctx);
      return true;
    }
    const c = ctx as ParameterizedContext & { logout?: () => unknown; session?: unknown };
    if (typeof c.logout === 'function') await c.logout();
    if ('session' in c) c.session = null;
    ctx.state.user = undefined;
    return true;
  } catch (err) {
    report(ctx, err);
    return false;
  }
}

/** The client address, normalised: `getClientIpAddress(ctx)`, else `ctx.ip`. */
export function clientIp(ctx: ParameterizedContext, config: MaintenanceConfig): string | undefined {
  try {
    const ip = config.getClientIpAddress ? config.getClientIpAddress(ctx) : ctx.ip;
    return ip ? normalizeIp(ip) : undefined;
  } catch (err) {
    report(ctx, err);
    return undefined;
  }
}
