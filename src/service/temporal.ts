/** The Temporal API (time zones and wall-clock arithmetic) from `temporal-polyfill` until Node ships it. */
import { Temporal } from 'temporal-polyfill';

export { Temporal };
