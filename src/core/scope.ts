/**
 * Scopes: maintenance for one part of a site (`'billing'`) or one tenant (`'tenant:42'`) while the rest stays up.
 * Names, the state in force for a request of a scope, and the store's scope table (its port). Pure.
 */
import { MaintenanceError } from './errors.js';
import { blocksRequests, isActive, type MaintenanceState } from './state.js';

/** A scope name: a letter or digit, then up to 127 letters, digits, `.`, `_`, `:` or `-`. */
export const SCOPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Whether `name` is a valid scope name. */
export function isScopeName(name: unknown): name is string {
  return typeof name === 'string' && SCOPE_NAME.test(name);
}

/** Returns `name` when it is a valid scope name; throws `ERR_MAINTENANCE_INVALID_SCOPE` naming `what` otherwise. */
export function checkScopeName(name: unknown, what = 'scope'): string {
  if (isScopeName(name)) return name;
  throw new MaintenanceError(
    'ERR_MAINTENANCE_INVALID_SCOPE',
    `${what} must be a scope name of 1 to 128 letters, digits, ".", "_", ":" or "-", starting with a letter or ` +
      `digit (e.g. "billing" or "tenant:42"); received ${JSON.stringify(name)}.`,
  );
}

/**
 * A host name as a scope name: lower-case, without the trailing dot of a fully qualified name, so `SHOP.example.com`
 * and `shop.example.com.` are the same scope as `shop.example.com` (DNS names are case-insensitive; a trailing dot
 * names the same host). Undefined when the result is no scope name (an IPv6 literal, an empty or odd Host header).
 */
export function hostnameScope(hostname: string, prefix = ''): string | undefined {
  const lower = hostname.toLowerCase();
  const name = `${prefix}${lower.endsWith('.') ? lower.slice(0, -1) : lower}`;
  return isScopeName(name) && !name.endsWith('.') ? name : undefined;
}

/**
 * Property set on a response (`ctx.res`) whose request was decided by a scope's state, so log filters given the
 * response (pino-http's `res`, Koa error logging) know the request's scope.
 */
export const RESPONSE_SCOPE = Symbol.for('koa-maintenance-mode.response-scope');

/** The state that decides a request of `scope`, and which scope it belongs to (undefined: the global state). */
export interface StateInForce {
  readonly state: MaintenanceState;
  readonly scope?: string;
}

/**
 * The state in force for a request: a state that blocks wins over a dry run, and the global state over the scope's
 * (its message, end and read-only answer): global blocking, scoped blocking, global dry run, scoped dry run. When
 * neither is active, the one whose window starts first (so it can be announced), the global state on a tie.
 */
export function stateInForce(
  global: MaintenanceState,
  scoped: MaintenanceState | undefined,
  scope: string | undefined,
  now: Date,
): StateInForce {
  if (scoped === undefined || !scoped.enabled || blocksRequests(global, now)) return { state: global };
  if (blocksRequests(scoped, now)) return { state: scoped, scope };
  if (isActive(global, now)) return { state: global };
  if (isActive(scoped, now)) return { state: scoped, scope };
  const next = (s: MaintenanceState) => (s.enabled && s.start !== undefined ? Date.parse(s.start) : Infinity);
  return next(scoped) < next(global) && next(scoped) > now.getTime() ? { state: scoped, scope } : { state: global };
}

/**
 * The scoped states a store keeps beside the global one. Only enabled states are kept: disabling a scope removes
 * its entry, so a store with 10,000 tenants holds (and lists) only the ones in maintenance.
 */
export interface ScopeTable {
  /** The stored state of `scope`, or undefined when it has none (off). */
  get(scope: string): Promise<MaintenanceState | undefined>;
  /** Stores an enabled state, or removes the entry (`undefined`). */
  set(scope: string, state: MaintenanceState | undefined): Promise<void>;
  /** Every stored scope and its state. */
  list(): Promise<Map<string, MaintenanceState>>;
}
