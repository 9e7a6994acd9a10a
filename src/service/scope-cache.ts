/**
 * The service's table of scoped states: one cache for every scope (never one per scope), so an app with 10,000
 * tenants keeps in memory only the scopes that are in maintenance, and reads the table once per `cacheTtlMs`
 * whatever the number of tenants or requests. Built only when something asks for a scope.
 */
import { type MaintenanceState, OFF_STATE } from '../core/state.js';
import type { MaintenanceLogger, ScopeStates, StateStore } from '../store/state-store.js';
import { type Cache, createCache, sameScopes, sameState } from './state-cache.js';

/** The cache of the scope table. */
export type ScopeCache = Cache<ScopeStates>;

const NO_SCOPES: ScopeStates = new Map();

/** Settings of {@link createScopeCache}. */
export interface ScopeCacheSettings {
  readonly store: Pick<StateStore, 'readScopes' | 'description'>;
  readonly ttlMs: number;
  readonly clock: () => number;
  readonly logger: MaintenanceLogger;
  readonly onChange: (previous: ScopeStates | undefined, next: ScopeStates) => void;
}

/** The cache of the scope table; after a long outage no scope is in maintenance (the global policy decides). */
export function createScopeCache(s: ScopeCacheSettings): ScopeCache {
  return createCache<ScopeStates>({
    source: { description: s.store.description, read: () => s.store.readScopes() },
    ttlMs: s.ttlMs,
    initial: NO_SCOPES,
    fallback: NO_SCOPES,
    fallbackText: 'no scoped maintenance (fallbackValue decides for the whole site)',
    what: 'the scoped maintenance states',
    same: sameScopes,
    clock: s.clock,
    logger: s.logger,
    onChange: s.onChange,
  });
}

/** `table` with the state of `scope` replaced: a disabled state removes the scope. */
export function withScope(table: ScopeStates, scope: string, state: MaintenanceState): ScopeStates {
  const next = new Map(table);
  if (state.enabled) next.set(scope, state);
  else next.delete(scope);
  return next;
}

/** The scopes whose state differs between two tables, with their previous (or off) and next (or off) state. */
export function changedScopes(
  previous: ScopeStates | undefined,
  next: ScopeStates,
): Array<{ scope: string; previous: MaintenanceState; next: MaintenanceState }> {
  const before = previous ?? NO_SCOPES;
  const out: Array<{ scope: string; previous: MaintenanceState; next: MaintenanceState }> = [];
  for (const scope of new Set([...before.keys(), ...next.keys()])) {
    const a = before.get(scope) ?? OFF_STATE;
    const b = next.get(scope) ?? OFF_STATE;
    if (!sameState(a, b)) out.push({ scope, previous: a, next: b });
  }
  return out;
}
