/**
 * Bypass tokens (Laravel's `down --secret`, hardened): the secret is compared in constant time and only as a
 * SHA-256 hash; the cookie carries an expiry and an HMAC-SHA256 over it, never the secret. Pure (node:crypto only).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a secret, hex: what the state stores and what signs the cookie. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

const mac = (keyHash: string, expires: number) =>
  createHmac('sha256', keyHash).update(`koa-maintenance-mode:bypass:${expires}`).digest('base64url');

/** Cookie value `<expiry seconds>.<mac>` for a key, valid until `expires` (Unix seconds). */
export function signBypassCookie(keyHash: string, expires: number): string {
  return `${expires}.${mac(keyHash, expires)}`;
}

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether `value` is an unexpired cookie signed with one of `keyHashes`. */
export function verifyBypassCookie(
  value: string | undefined,
  keyHashes: readonly string[],
  nowSeconds: number,
): boolean {
  if (!value || keyHashes.length === 0) return false;
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const expiresText = value.slice(0, dot);
  if (!/^\d{1,12}$/.test(expiresText)) return false;
  const expires = Number(expiresText);
  if (expires <= nowSeconds) return false;
  const given = value.slice(dot + 1);
  let ok = false;
  for (const key of keyHashes) ok = equalStrings(given, mac(key, expires)) || ok; // no early exit
  return ok;
}

/** The key (hash) of the secret `candidate` is, if any; every key is compared, in constant time. */
export function secretKeyOf(candidate: string | undefined, keyHashes: readonly string[]): string | undefined {
  if (!candidate || keyHashes.length === 0) return undefined;
  const hashed = hashSecret(candidate);
  let found: string | undefined;
  for (const key of keyHashes) if (equalStrings(hashed, key)) found = key;
  return found;
}

/** Whether `candidate` is one of the secrets (compared as hashes, in constant time). */
export function matchesSecret(candidate: string | undefined, keyHashes: readonly string[]): boolean {
  return secretKeyOf(candidate, keyHashes) !== undefined;
}
