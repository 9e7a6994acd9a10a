/** The bypass secret at the door: `/<secret>` grants a signed cookie, and the cookie or header lets a request through. */
import type { ParameterizedContext } from 'koa';
import {
  type BypassKeys,
  cookieExpiry,
  optionSecret,
  secretKindOf,
  signBypassCookie,
  verifyBypassCookie,
} from '../core/bypass.js';
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
  const option = config.bypass ? optionSecret(config.bypass.secret) : undefined;
  const header = config.bypass?.header ?? BYPASS_DEFAULTS.header;
  const cookieName = config.bypass?.cookieName ?? BYPASS_DEFAULTS.cookieName;
  const ttlSeconds = config.bypass?.ttlSeconds ?? BYPASS_DEFAULTS.ttlSeconds;
  const optionOnly: BypassKeys = { option };
  const keysOf = (state: MaintenanceState): BypassKeys =>
    state.bypassHash === undefined ? optionOnly : { option, windowVerifier: state.bypassHash };

  return {
    enabled: (state) => option !== undefined || state.bypassHash !== undefined,
    grant(ctx, state) {
      const p = ctx.path;
      if (p.length < 17 || p.length > 257 || p.indexOf('/', 1) !== -1) return false;
      const secret = p.slice(1);
      const keys = keysOf(state);
      const kind = secretKindOf(secret, keys);
      if (kind === undefined) return false;
      // A window's secret yields a cookie that never outlives the window (nor ttlSeconds).
      const now = nowSeconds();
      const expires = cookieExpiry(kind, now, ttlSeconds, state.end);
      if (expires <= now) return false;
      ctx.cookies.set(cookieName, signBypassCookie(kind, secret, keys, expires), {
        httpOnly: true,
        sameSite: 'lax',
        secure: ctx.secure,
        path: '/',
        maxAge: (expires - now) * 1000,
        overwrite: true,
      });
      neverCache(ctx);
      ctx.redirect('/');
      return true;
    },
    carries(ctx, state) {
      const keys = keysOf(state);
      if (keys.option === undefined && keys.windowVerifier === undefined) return false;
      const given = ctx.get(header);
      if (given !== '' && given.length <= 256 && secretKindOf(given, keys) !== undefined) return true;
      const bounds = { nowSeconds: nowSeconds(), ttlSeconds, end: state.end };
      return verifyBypassCookie(ctx.cookies.get(cookieName), keys, bounds);
    },
  };
}
