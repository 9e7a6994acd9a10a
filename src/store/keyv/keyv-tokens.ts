/**
 * The token table of a store that has none of its own (the file store, other keyv adapters): every token record in
 * one key, `maintenance_mode_tokens`, as `{ [hash]: record }` (the file store keeps it in the file
 * `<state file>.d/maintenance_mode_tokens.json`). Changes are read-modify-write: two `token create` in the same instant
 * can lose one, which its creator sees in `token list`; Redis and PostgreSQL keep a table without that limit.
 */
import type { KeyvLike } from '../../core/keyv-like.js';
import { isTokenRecord, type TokenRecord, type TokenTable } from '../../core/tokens.js';
import { TOKENS_KEY } from '../store-keys.js';

function toMap(value: unknown): Map<string, TokenRecord> {
  const table = new Map<string, TokenRecord>();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return table;
  for (const [hash, record] of Object.entries(value)) {
    if (isTokenRecord(record) && record.hash === hash) table.set(hash, record);
  }
  return table;
}

/** The {@link TokenTable} kept in one keyv key. */
export function createKeyvTokenTable(keyv: KeyvLike): TokenTable {
  const read = async () => toMap(await keyv.get(TOKENS_KEY));
  return {
    async find(hash) {
      return (await read()).get(hash);
    },
    async list() {
      return [...(await read()).values()];
    },
    async put(record) {
      const table = await read();
      table.set(record.hash, record);
      await keyv.set(TOKENS_KEY, Object.fromEntries(table));
    },
    async remove(id) {
      const table = await read();
      const found = [...table.values()].find((r) => r.id === id);
      if (!found) return false;
      table.delete(found.hash);
      await keyv.set(TOKENS_KEY, Object.fromEntries(table));
      return true;
    },
  };
}
