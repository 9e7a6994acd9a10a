/**
 * The names every store keeps its records under: keys (keyv, Redis, the file store's side files) or rows. Each store
 * adds its own namespace or table prefix (Redis `maintenance-mode::maintenance_mode_state`). The history's key is
 * `HISTORY_KEY` of core/history.ts.
 */

/** keyv key under which every store keeps the global state (the file store: the state file itself). */
export const STATE_KEY = 'maintenance_mode_state';
/** Key of the revision counter (Redis, plain keyv). */
export const REVISION_KEY = 'maintenance_mode_revision';
/** Key of the enabled scoped states (a Redis hash, one plain keyv key). */
export const SCOPES_KEY = 'maintenance_mode_scopes';
/** Key of the token table (a Redis hash, one plain keyv key, the file store's side file). */
export const TOKENS_KEY = 'maintenance_mode_tokens';
