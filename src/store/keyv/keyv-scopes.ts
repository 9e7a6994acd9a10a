/**
 * The scope table of a keyv store that has none of its own (in-memory keyv, other adapters): every enabled scoped
 * state in one key, `maintenance_mode_scopes`, as `{ [scope]: state }`. Changes are read-modify-write, so two writers
 * switching different scopes in the same instant can lose one of the two switches; Redis and the file store keep a
 * table of their own without that limit.
 */
import type { KeyvLike } from '../../core/keyv-like.js';
import type { ScopeTable } from '../../core/scope.js';
import { type MaintenanceState, normalizeState } from '../../core/state.js';
import { SCOPES_KEY } from '../store-keys.js';

function toMap(value: unknown): Map<string, MaintenanceState> {
  const table = new Map<string, MaintenanceState>();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return table;
  for (const [scope, state] of Object.entries(value)) table.set(scope, normalizeState(state));
  return table;
}

/** The {@link ScopeTable} kept in one keyv key (the state store bounds and labels each call). */
export function createKeyvScopeTable(keyv: KeyvLike): ScopeTable {
  const list = async () => toMap(await keyv.get(SCOPES_KEY));
  return {
    list,
    async get(scope) {
      return (await list()).get(scope);
    },
    async set(scope, state) {
      const table = await list();
      if (state === undefined) table.delete(scope);
      else table.set(scope, state);
      await keyv.set(SCOPES_KEY, Object.fromEntries(table));
    },
  };
}
