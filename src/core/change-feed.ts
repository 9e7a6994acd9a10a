/** How a store tells every service instance that the state changed, so caches update without polling. */
import type { MaintenanceState } from './state.js';

/** Property under which a keyv instance carries its {@link ChangeFeed}. */
export const CHANGE_FEED = Symbol.for('koa-maintenance-mode.change-feed');

/**
 * A push channel next to a store: Redis pub/sub for `createRedisStore`, a directory watch for the file store.
 * `onChange(state)` gets the new state when the feed carries it, or `undefined` for "changed, read it again"
 * (a file event, or a reconnect after which messages may have been missed).
 */
export interface ChangeFeed {
  subscribe(onChange: (state?: MaintenanceState) => void): () => void;
  publish(state: MaintenanceState): Promise<void>;
  close(): Promise<void>;
}

/** The feed of `store`, if it has one. */
export function changeFeedOf(store: unknown): ChangeFeed | undefined {
  return (store as { [CHANGE_FEED]?: ChangeFeed } | null)?.[CHANGE_FEED];
}
