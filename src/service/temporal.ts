/**
 * The Temporal API (time zones and wall-clock arithmetic): the runtime's own where it has one, else
 * `@js-temporal/polyfill`, the proposal's reference polyfill, chosen because it ships CommonJS: the package must load
 * through `require()` in test runners that cannot require an ES module (Jest), which `temporal-polyfill` 1.x cannot.
 * Loaded on first use (recurring windows only), so that importing the package does not pay for it.
 */
import type { Temporal as TemporalNamespace } from '@js-temporal/polyfill';

let loaded: typeof TemporalNamespace | undefined;

/** The Temporal namespace in use: `globalThis.Temporal` when the runtime has it, else the polyfill. */
export function temporal(): typeof TemporalNamespace {
  loaded ??=
    (globalThis as { Temporal?: typeof TemporalNamespace }).Temporal ??
    (require('@js-temporal/polyfill') as typeof import('@js-temporal/polyfill')).Temporal;
  return loaded;
}
