/**
 * API tokens for pipelines and chat-ops: what a token may do, how it is made and checked, and the store's token table
 * (its port). Only a token's SHA-256 is ever stored; the token itself is shown once. Pure.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MaintenanceError } from './errors.js';
import { hasUnprintable, printable } from './printable.js';

/** What a token may do: switch on, switch off, add or remove windows, read the state, history and fleet. */
export type TokenPermission = 'on' | 'off' | 'windows' | 'read';

/** Every permission, in the order `token list` shows them. */
export const TOKEN_PERMISSIONS: readonly TokenPermission[] = Object.freeze(['on', 'off', 'windows', 'read']);

/** What the store keeps of a token: never the token, only its SHA-256 (hex). */
export interface TokenRecord {
  /** Public identifier (`token revoke ID`), not a secret. */
  readonly id: string;
  /** SHA-256 of the token, hex. */
  readonly hash: string;
  readonly label: string;
  readonly allow: readonly TokenPermission[];
  /** The only scope the token may switch and read; undefined: the whole site and every scope. */
  readonly scope?: string;
  /** ISO-8601; undefined: never expires. */
  readonly expiresAt?: string;
  readonly createdAt: string;
  readonly createdBy?: string;
}

/** A token as listed: everything but its hash. */
export type TokenInfo = Omit<TokenRecord, 'hash'>;

/**
 * The store's token table: one record per token, keyed by its hash (Redis: a hash; PostgreSQL: a table; other keyv
 * stores: one key). Reads are not cached, so a revoked token is refused by every instance at its next request.
 */
export interface TokenTable {
  /** The record whose hash is `hash`, if any. */
  find(hash: string): Promise<TokenRecord | undefined>;
  /** Every record, oldest first where the store can tell. */
  list(): Promise<TokenRecord[]>;
  /** Adds `record` (a new token: its hash is not in the table yet). */
  put(record: TokenRecord): Promise<void>;
  /** Removes the record `id`; false when there was none. */
  remove(id: string): Promise<boolean>;
}

/** Prefix of every token, so secret scanners (and people) recognise one. */
export const TOKEN_PREFIX = 'mmt_';

/** A new token: the prefix and 32 random bytes (256 bits), base64url. */
export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 of a token, hex: what the store keeps and looks up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether two hex hashes are equal, in time independent of where they differ. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** The longest label, in characters. */
const LABEL_MAX = 64;

/** What `token create` asks for. */
export interface TokenRequest {
  readonly label: string;
  readonly allow: readonly string[];
  readonly scope?: string;
  /** Lifetime in milliseconds; undefined: never expires. */
  readonly ttlMs?: number;
  readonly by?: string;
}

const invalid = (field: string, problem: string, value: unknown): never => {
  throw new MaintenanceError(
    'ERR_MAINTENANCE_INVALID_OPTION',
    `Token ${field} ${problem}; received ${printable(JSON.stringify(value) ?? String(value))}.`,
  );
};

/**
 * A label: 1 to 64 characters, none of them a control, separator or bidi character (it is shown in the history, in
 * `token list` and as `by: token:<label>`, where U+202E could make `token:ops` of `token:spo`).
 */
function checkLabel(label: unknown): string {
  const trimmed = typeof label === 'string' ? label.trim() : '';
  const length = [...trimmed].length; // in characters, as people count them, not UTF-16 units
  if (length === 0 || length > LABEL_MAX || hasUnprintable(trimmed)) {
    invalid(
      'label',
      `must be 1 to ${LABEL_MAX} characters without control or bidi characters (e.g. --label deploy-bot)`,
      label,
    );
  }
  return trimmed;
}

/** The permissions of a request, checked: each one of on, off, windows, read, at least one. */
export function checkPermissions(allow: unknown): TokenPermission[] {
  if (!Array.isArray(allow) || allow.length === 0) invalid('allow', 'must list on, off, windows or read', allow);
  const list = allow as unknown[];
  for (const p of list) {
    if (!TOKEN_PERMISSIONS.includes(p as TokenPermission)) {
      invalid('allow', `may hold on, off, windows and read only (e.g. --allow on,off,read)`, p);
    }
  }
  return TOKEN_PERMISSIONS.filter((p) => list.includes(p));
}

/** The record of a new token (its hash) from a checked request; `scope` must already be a valid scope name. */
export function tokenRecord(req: TokenRequest, token: string, id: string, now: Date): TokenRecord {
  const label = checkLabel(req.label);
  const allow = checkPermissions(req.allow);
  if (req.ttlMs !== undefined && !(Number.isSafeInteger(req.ttlMs) && req.ttlMs > 0)) {
    invalid('ttl', 'must be a positive duration (e.g. --ttl 30d)', req.ttlMs);
  }
  return {
    id,
    hash: tokenHash(token),
    label,
    allow,
    ...(req.scope !== undefined ? { scope: req.scope } : {}),
    ...(req.ttlMs !== undefined ? { expiresAt: new Date(now.getTime() + req.ttlMs).toISOString() } : {}),
    createdAt: now.toISOString(),
    ...(req.by !== undefined ? { createdBy: req.by } : {}),
  };
}

/** A record as listed (no hash), with whether it has expired. */
export function tokenInfo(record: TokenRecord): TokenInfo {
  const { hash: _, ...info } = record;
  return info;
}

/** Whether the token of `record` has expired at `now`. */
export function tokenExpired(record: TokenRecord, now: Date): boolean {
  return record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime();
}

/** Whether a stored value is a token record (a hand-edited or foreign entry is ignored, never trusted). */
export function isTokenRecord(value: unknown): value is TokenRecord {
  const r = value as Partial<TokenRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    typeof r.hash === 'string' &&
    /^[0-9a-f]{64}$/.test(r.hash) &&
    typeof r.label === 'string' &&
    Array.isArray(r.allow) &&
    r.allow.every((p) => TOKEN_PERMISSIONS.includes(p)) &&
    (r.scope === undefined || typeof r.scope === 'string') &&
    (r.expiresAt === undefined || !Number.isNaN(Date.parse(r.expiresAt))) &&
    typeof r.createdAt === 'string'
  );
}

/** Who a token acts as in the history: `token:<label>`. */
export const tokenActor = (info: Pick<TokenInfo, 'label'>): string => `token:${info.label}`;
