/** The one proxy setting that makes an IP allow-list spoofable, found from the app's own settings. */

/** The app settings that decide what `ctx.ip` is. */
export interface ProxySettings {
  readonly proxy: boolean;
  readonly maxIpsCount: number;
}

/**
 * A warning when the app trusts `X-Forwarded-For` without a hop limit: with `app.proxy = true` and Koa's default
 * `app.maxIpsCount = 0`, `ctx.ip` is the leftmost entry, which the client writes itself, so
 * `X-Forwarded-For: 10.1.1.1, 8.8.8.8` would pass a `10.0.0.0/8` allow-list. Undefined when the settings are safe.
 */
export function proxyWarning(app: ProxySettings): string | undefined {
  if (!app.proxy || app.maxIpsCount !== 0) return undefined;
  return (
    'koa-maintenance-mode: ignoreIpAddresses is set and the app trusts X-Forwarded-For (app.proxy = true) with ' +
    'app.maxIpsCount = 0, so ctx.ip is the leftmost X-Forwarded-For entry, which clients can forge. Set ' +
    'app.maxIpsCount to the number of proxies in front of the app (e.g. app.maxIpsCount = 1 behind one load balancer).'
  );
}
