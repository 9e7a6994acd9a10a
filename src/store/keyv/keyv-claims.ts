/**
 * Claims of a keyv store that has none of its own (an in-memory keyv, other adapters): a read, then a write with a
 * time to live. Not atomic across processes: two instances claiming in the same instant may both win, so an event
 * may be sent twice; Redis, PostgreSQL and the file store claim atomically.
 */
import type { ClaimStore } from '../../core/claims.js';
import type { KeyvLike } from '../../core/keyv-like.js';

/** The {@link ClaimStore} over plain keyv keys `maintenance_mode_claim:<name>`. */
export function createKeyvClaims(keyv: KeyvLike): ClaimStore {
  return {
    async claim(name, ttlMs) {
      const key = `maintenance_mode_claim:${name}`;
      if ((await keyv.get(key)) !== undefined) return false;
      await keyv.set(key, Date.now(), Math.max(1, Math.round(ttlMs)));
      return true;
    },
  };
}
