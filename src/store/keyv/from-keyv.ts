/**
 * `fromKeyv()`: any keyv instance (in memory, or over any keyv adapter) as a {@link MaintenanceStore}. Everything lives
 * in plain keys beside the state, written read-modify-write; no push, no fleet.
 */
import { isKeyvLike, type KeyvLike } from '../../core/keyv-like.js';
import { invalidOption } from '../../core/validate.js';
import type { MaintenanceStore } from '../maintenance-store.js';
import { STATE_KEY } from '../store-keys.js';
import { createKeyvClaims } from './keyv-claims.js';
import { createKeyvCommitter } from './keyv-commit.js';
import { createKeyvHistoryLog } from './keyv-history.js';
import { createKeyvScopeTable } from './keyv-scopes.js';
import { createKeyvTokenTable } from './keyv-tokens.js';

/** How messages name a store made by {@link fromKeyv}. */
const DESCRIPTION = 'the keyv store';

/**
 * A {@link MaintenanceStore} over `keyv`: the state under `maintenance_mode_state`, the scopes, history, revision,
 * tokens and claims in keys beside it, each written read-modify-write (two writers in the same instant can lose a
 * scope switch or a history entry, never the global state). It has no change feed (instances converge within
 * `cacheTtlMs`) and no presence (no fleet). Turns on `keyv.throwOnErrors`: keyv's default swallows store errors and
 * answers undefined, which would read as "maintenance off". `close()` calls `keyv.disconnect()`.
 * `new MaintenanceService({ store: keyv })` wraps a keyv instance with it.
 * @example new MaintenanceService({ store: fromKeyv(new Keyv()) }) // = { store: new Keyv() }
 */
export function fromKeyv(keyv: KeyvLike): MaintenanceStore {
  if (!isKeyvLike(keyv)) {
    invalidOption('fromKeyv(keyv)', 'takes a keyv instance (with get, set and delete), e.g. new Keyv()', keyv);
  }
  if (keyv.throwOnErrors === false) keyv.throwOnErrors = true;
  const scopes = createKeyvScopeTable(keyv);
  const history = createKeyvHistoryLog(keyv);
  return {
    description: DESCRIPTION,
    stateLocation: `The key ${STATE_KEY} of ${DESCRIPTION}`,
    readState: () => keyv.get(STATE_KEY),
    ...createKeyvCommitter({ keyv, scopes, history, description: DESCRIPTION }),
    scopes,
    history,
    claims: createKeyvClaims(keyv),
    tokens: createKeyvTokenTable(keyv),
    async close() {
      await keyv.disconnect?.();
    },
  };
}
