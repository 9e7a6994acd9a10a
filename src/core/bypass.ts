/**
 * Bypass tokens (Laravel's `down --secret`, hardened). Nothing a store or a change message holds is enough to mint a
 * cookie: a window's state keeps only a one-way verifier, `SHA-256(HMAC(secret, PROOF))`; a window cookie carries the
 * proof `HMAC(secret, PROOF)`, which only someone who had the secret can make; a cookie of the app's own secret
 * (`bypass.secret`, never stored) is an HMAC over its expiry with a key derived from that secret. Every expiry is
 * capped: at `ttlSeconds` from now, and for a window's cookie at the window's end. Pure (node:crypto only).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Labels of the two derivations (domain separation: the proof and the cookie key never coincide). */
const PROOF_LABEL = 'koa-maintenance-mode/bypass-proof/v2';
const COOKIE_KEY_LABEL = 'koa-maintenance-mode/bypass-cookie-key/v2';

/** Clock difference between instances tolerated on a cookie's expiry, in seconds. */
export const CLOCK_SKEW_SECONDS = 60;

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The proof of a secret that a window's cookie carries (base64url). Never stored. */
function proofOf(secret: string): string {
  return createHmac('sha256', secret).update(PROOF_LABEL).digest('base64url');
}

/**
 * The one-way verifier of a bypass secret (64 hex digits) that a state stores as `bypassHash`: neither the secret
 * nor a valid cookie can be derived from it.
 */
export function hashSecret(secret: string): string {
  return sha256Hex(proofOf(secret));
}

function equalStrings(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The app's own secret (`bypass.secret`) as the gate uses it: its verifier and its cookie key. */
export interface OptionSecret {
  readonly verifier: string;
  readonly cookieKey: Buffer;
}

/** Derives the {@link OptionSecret} of the app's configured secret, once. */
export function optionSecret(secret: string): OptionSecret {
  return { verifier: hashSecret(secret), cookieKey: createHmac('sha256', secret).update(COOKIE_KEY_LABEL).digest() };
}

const optionMac = (key: Buffer, expires: number) =>
  createHmac('sha256', key).update(`bypass:${expires}`).digest('base64url');

/** Which secret a candidate is: the app's own, the window's, or neither. Both are compared, in constant time. */
export type SecretKind = 'option' | 'window';

/** What a request's bypass is checked against: the app's secret and the window's verifier (either may be absent). */
export interface BypassKeys {
  readonly option?: OptionSecret;
  readonly windowVerifier?: string;
}

/** The kind of secret `candidate` is (the header's value, or the path visited), if any. */
export function secretKindOf(candidate: string | undefined, keys: BypassKeys): SecretKind | undefined {
  if (!candidate || (keys.option === undefined && keys.windowVerifier === undefined)) return undefined;
  const verifier = hashSecret(candidate);
  const isOption = keys.option !== undefined && equalStrings(verifier, keys.option.verifier);
  const isWindow = keys.windowVerifier !== undefined && equalStrings(verifier, keys.windowVerifier);
  return isOption ? 'option' : isWindow ? 'window' : undefined;
}

/** The latest expiry (Unix seconds) a cookie may carry now: `ttlSeconds` ahead, and never past the window's end. */
export function cookieExpiry(kind: SecretKind, nowSeconds: number, ttlSeconds: number, end?: string): number {
  const byTtl = nowSeconds + ttlSeconds;
  if (kind === 'option' || end === undefined) return byTtl;
  return Math.min(byTtl, Math.floor(Date.parse(end) / 1000));
}

/** Cookie value `<expiry seconds>.<tag>` for the secret `secret` of `kind`, valid until `expires` (Unix seconds). */
export function signBypassCookie(kind: SecretKind, secret: string, keys: BypassKeys, expires: number): string {
  const tag = kind === 'window' ? proofOf(secret) : optionMac((keys.option as OptionSecret).cookieKey, expires);
  return `${expires}.${tag}`;
}

/** The bounds a cookie's expiry is checked against. */
export interface CookieBounds {
  readonly nowSeconds: number;
  readonly ttlSeconds: number;
  /** The window's end (ISO-8601), which a window's cookie never outlives. */
  readonly end?: string;
}

/**
 * Whether `value` is an unexpired cookie of the app's secret or of the window's: its expiry in the future and within
 * `ttlSeconds` (and the window's end) of now, give or take {@link CLOCK_SKEW_SECONDS}; its tag valid. Both kinds are
 * always checked (no early exit).
 */
export function verifyBypassCookie(value: string | undefined, keys: BypassKeys, bounds: CookieBounds): boolean {
  if (!value || value.length > 128) return false;
  const dot = value.indexOf('.');
  if (dot <= 0) return false;
  const expiresText = value.slice(0, dot);
  if (!/^\d{1,11}$/.test(expiresText)) return false;
  const expires = Number(expiresText);
  const { nowSeconds, ttlSeconds } = bounds;
  if (expires <= nowSeconds || expires > nowSeconds + ttlSeconds + CLOCK_SKEW_SECONDS) return false;
  const tag = value.slice(dot + 1);
  let ok = false;
  if (keys.option !== undefined) ok = equalStrings(tag, optionMac(keys.option.cookieKey, expires));
  if (keys.windowVerifier !== undefined) {
    const end = bounds.end === undefined ? Number.POSITIVE_INFINITY : Date.parse(bounds.end) / 1000;
    const inWindow = expires <= end + CLOCK_SKEW_SECONDS;
    ok = (equalStrings(sha256Hex(tag), keys.windowVerifier) && inWindow) || ok;
  }
  return ok;
}
