/**
 * The history of a keyv store that has no log of its own (in-memory keyv, other adapters): every entry in one key,
 * `maintenance_mode_history`, as an array. Appends are read-modify-write, so two writers in the same instant can lose
 * an entry; Redis, PostgreSQL and the file store append atomically.
 */
import { appendHistory, HISTORY_KEY, type HistoryLog, normalizeHistory } from '../../core/history.js';
import type { KeyvLike } from '../../core/keyv-like.js';

/** The {@link HistoryLog} kept in one keyv key. */
export function createKeyvHistoryLog(keyv: KeyvLike): HistoryLog {
  const list = async () => normalizeHistory(await keyv.get(HISTORY_KEY));
  return {
    async append(entry, limit) {
      await keyv.set(HISTORY_KEY, appendHistory(await list(), entry, limit));
    },
    async read(limit) {
      return (await list()).slice(-Math.max(1, limit));
    },
  };
}
