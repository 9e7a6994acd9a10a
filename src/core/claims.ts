/**
 * Claims: "this instance does it" for a short time, so an event nobody writes (a reminder, a window that starts) is
 * sent once per fleet. The first instance to claim a name wins; every other claim of it fails until `ttlMs` has
 * passed. Pure (a port).
 */

/** The store's claims. */
export interface ClaimStore {
  /** True when this call claimed `name` (nobody held it), false when another claim holds it. */
  claim(name: string, ttlMs: number): Promise<boolean>;
}
