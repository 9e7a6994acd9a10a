/**
 * The token vault of a service: makes, lists, revokes and checks API tokens in the store's token table. Every call
 * reads the store (no cache), so a revoked token is refused by every instance from its next request on; every call is
 * bounded by `storeTimeoutMs`, and a failure is a `MaintenanceError` (a check that cannot read the store refuses).
 */
import { randomBytes } from 'node:crypto';
import { MaintenanceError } from '../core/errors.js';
import { checkScopeName } from '../core/scope.js';
import {
  newToken,
  sameHash,
  type TokenInfo,
  type TokenRequest,
  type TokenTable,
  tokenExpired,
  tokenHash,
  tokenInfo,
  tokenRecord,
} from '../core/tokens.js';
import { withTimeout } from '../store/state-store.js';

/** A token just made: the token itself (shown once, never stored) and what is stored of it. */
export interface CreatedToken {
  readonly token: string;
  readonly info: TokenInfo;
}

/** The token operations of one service. */
export interface TokenVault {
  create(request: TokenRequest): Promise<CreatedToken>;
  list(): Promise<TokenInfo[]>;
  revoke(id: string): Promise<void>;
  /** The token's record when it is known and not expired; undefined otherwise (never says which). */
  authenticate(token: string): Promise<TokenInfo | undefined>;
}

/** Builds the vault over the store's token table. */
export function createTokenVault(table: TokenTable, description: string, timeoutMs: number): TokenVault {
  const call = async <T>(op: () => Promise<T>, what: string, code: 'READ' | 'WRITE'): Promise<T> => {
    try {
      return await withTimeout(op(), timeoutMs, what);
    } catch (err) {
      if (err instanceof MaintenanceError) throw err;
      throw new MaintenanceError(`ERR_MAINTENANCE_STORE_${code}`, `${what} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  };
  return {
    async create(request) {
      const scope = request.scope === undefined ? undefined : checkScopeName(request.scope, 'Token scope');
      const token = newToken();
      const record = tokenRecord({ ...request, scope }, token, randomBytes(6).toString('hex'), new Date());
      await call(() => table.put(record), `Saving the token to ${description}`, 'WRITE');
      return { token, info: tokenInfo(record) };
    },
    async list() {
      const all = await call(() => table.list(), `Reading the tokens from ${description}`, 'READ');
      return all.map(tokenInfo).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async revoke(id) {
      const removed = await call(() => table.remove(String(id)), `Revoking the token in ${description}`, 'WRITE');
      if (!removed) {
        throw new MaintenanceError(
          'ERR_MAINTENANCE_UNKNOWN_TOKEN',
          `No token has the id ${JSON.stringify(id)}; \`maintenance-mode token list\` shows the ids.`,
        );
      }
    },
    async authenticate(token) {
      const hash = tokenHash(token);
      const found = await call(() => table.find(hash), `Checking a token against ${description}`, 'READ');
      if (!found || !sameHash(found.hash, hash) || tokenExpired(found, new Date())) return undefined;
      return tokenInfo(found);
    },
  };
}
