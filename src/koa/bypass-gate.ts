/** The bypass secret at the door: `/<secret>` grants a signed cookie, and the cookie or header lets a request through. */
import type { ParameterizedContext } from 'koa';
import { hashSecret, matchesSecret, secretKeyOf, signBypassCookie, verifyBypassCookie } from '../core/bypass.js';
import type { MaintenanceState } from '../core/state.js';
import { BYPASS_DEFAULTS, type MaintenanceConfig } from './options.js';
import { neverCache } from './respond.js';

/** The bypass checks of one `maintenance()` configuration. */
export interface BypassGate {
  /** Whether a bypass secret exists at all for `state` (the option's or the window's). */
  enabled(state: MaintenanceState): boolean;
  /** Answers `/<secret>` with the cookie and a redirect home; false when the path is no secret. */
  grant(ctx: ParameterizedContext, state: MaintenanceState): boolean;
  /** Whether the request carries a valid bypass header or cookie. */
  carries(ctx: ParameterizedContext, state: MaintenanceState): boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Builds the gate once from the resolved options. */
export function createBypassGate(config: MaintenanceConfig): BypassGate {
  const optionKey = config.bypass ? hashSecret(config.bypass.secret) : undefined;
  const header = config.bypass?.header ?? BYPASS_DEFAULTS.header;
  const cookieName = config.bypass?.cookieName ?? BYPASS_DEFAULTS.cookieName;
  const ttlSeconds = config.bypass?.ttlSeconds ?? BYPASS_DEFAULTS.ttlSeconds;

  const keysOf = (state: MaintenanceState): string[] => {
    const keys: string[] = [];
    if (optionKey) keys.push(optionKey);
    if (state.bypassHash) keys.push(state.bypassHash);
    return keys;
  };

  return {
    enabled: (state) => optionKey !== undefined || state.bypassHash !== undefined,
    grant(ctx, state) {
      const p = ctx.path;
      if (p.length < 17 || p.indexOf('/', 1) !== -1) return false;
      // Signed with the key of the secret used, so a window's secret never yields a cookie that outlives the window.
      const key = secretKeyOf(p.slice(1), keysOf(state));
      if (key === undefined) return false;
      ctx.cookies.set(cookieName, signBypassCookie(key, nowSeconds() + ttlSeconds), {
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        path: '/',
        maxAge: ttlSeconds * 1000,
        overwrite: true,
      });
      neverCache(ctx);
      ctx.redirect('/');
      return true;
    },
    carries(ctx, state) {
      const keys = keysOf(state);
      if (keys.length === 0) return false;
      return (
        matchesSecret(ctx.get(header) || undefined, keys) ||
        verifyBypassCookie(ctx.cookies.get(cookieName), keys, nowSeconds())
      );
    },
  };
}
