/** `scopeByHostname()`: the `scope` option for apps whose tenants are host names. */
import { hostnameScope } from '../core/scope.js';
import { invalidOption } from '../core/validate.js';
import type { MaintenanceContext } from './options.js';

/** Options of {@link scopeByHostname}. */
export interface HostnameScopeOptions {
  /** Put before the host name, e.g. `'host:'` gives scopes like `host:shop.example.com`. @default '' */
  readonly prefix?: string;
}

/**
 * A `scope` function that makes the request's host name (`ctx.hostname`: the Host header, or X-Forwarded-Host when
 * `app.proxy` is set) its scope, normalised so case and a trailing dot cannot escape it: `SHOP.example.com` and
 * `shop.example.com.` are both in the scope `shop.example.com`. Switch scopes with the lower-case name.
 * @example app.use(maintenance({ scope: scopeByHostname() }));  // then: maintenance-mode on --scope shop.example.com
 */
export function scopeByHostname(options: HostnameScopeOptions = {}): (ctx: MaintenanceContext) => string | undefined {
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && hostnameScope('a', prefix) === undefined)) {
    invalidOption('scopeByHostname({ prefix })', 'must be the start of a scope name, such as "host:"', prefix);
  }
  return function hostnameScopeOf(ctx) {
    return hostnameScope(ctx.hostname, prefix);
  };
}
