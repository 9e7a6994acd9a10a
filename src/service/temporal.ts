/**
 * The Temporal API (time zones and wall-clock arithmetic): the runtime's own where it has one, else
 * `@js-temporal/polyfill`, the proposal's reference polyfill, chosen because it ships CommonJS: the package must load
 * through `require()` in test runners that cannot require an ES module (Jest), which `temporal-polyfill` 1.x cannot.
 */
import { Temporal as Polyfill } from '@js-temporal/polyfill';

/** The Temporal namespace in use: `globalThis.Temporal` when the runtime has it, else the polyfill. */
export const Temporal: typeof Polyfill = (globalThis as { Temporal?: typeof Polyfill }).Temporal ?? Polyfill;
