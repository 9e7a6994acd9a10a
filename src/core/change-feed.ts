/** How a store tells every service instance that the state changed, so caches update without polling. */
import type { MaintenanceState } from './state.js';

/** Property under which a keyv instance carries its {@link ChangeFeed}. */
export const CHANGE_FEED = Symbol.for('koa-maintenance-mode.change-feed');

/**
 * One change as a feed carries it. `state` is the new state when the feed carries it; without it the change means
 * "changed, read it again" (a file event, or a reconnect after which messages may have been missed).
 * `scope` names the scope that changed; `'*'` stands for "some scopes changed" (read the scope table again).
 */
export interface StateChange {
  readonly scope?: string;
  readonly state?: MaintenanceState;
}

/** `scope` of a change that means "any scope may have changed". */
export const ANY_SCOPE = '*';

/**
 * A push channel next to a store: Redis pub/sub for `createRedisStore`, a directory watch for the file store.
 */
export interface ChangeFeed {
  subscribe(onChange: (change: StateChange) => void): () => void;
  /** Tells every other instance about a write: the global state, or the state of `change.scope`. */
  publish(change: StateChange & { readonly state: MaintenanceState }): Promise<void>;
  close(): Promise<void>;
}

/** The feed of `store`, if it has one. */
export function changeFeedOf(store: unknown): ChangeFeed | undefined {
  return (store as { [CHANGE_FEED]?: ChangeFeed } | null)?.[CHANGE_FEED];
}

/** The text a feed sends for a change: the global state as itself (as before scopes), a scoped one wrapped. */
export function encodeChange(change: StateChange & { readonly state: MaintenanceState }): string {
  return JSON.stringify(change.scope === undefined ? change.state : { scope: change.scope, state: change.state });
}

/** Reads a change sent by {@link encodeChange}; `normalize` validates the state (and may throw). */
export function decodeChange(text: string, normalize: (value: unknown) => MaintenanceState): StateChange {
  const value = JSON.parse(text) as Record<string, unknown>;
  if (value !== null && typeof value === 'object' && typeof value.scope === 'string' && 'state' in value) {
    return { scope: value.scope, state: normalize(value.state) };
  }
  return { state: normalize(value) };
}
