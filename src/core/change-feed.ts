/** How a store tells every service instance that the state changed, so caches update without polling. Pure. */

/**
 * One change as a feed carries it: which state changed, never the state itself. Each instance reads the changed state
 * again, so a change message stays small whatever the state holds (no payload limit can lose a push, and no secret
 * material travels on a channel that may be readable more widely than the store). `scope` names the scope that
 * changed; undefined is the global state; `'*'` stands for "some scopes changed" (read the scope table again).
 */
export interface StateChange {
  readonly scope?: string;
  /**
   * The store's revision after the write (a counter shared by every scope), when the feed knows it: an instance that
   * has read the change (or has nothing to read for it) has applied this revision. Absent: read the revision too.
   */
  readonly revision?: number;
}

/** `scope` of a change that means "any scope may have changed". */
export const ANY_SCOPE = '*';

/** A push channel next to a store: Redis pub/sub, PostgreSQL LISTEN/NOTIFY, a directory watch for the file store. */
export interface ChangeFeed {
  /**
   * Calls `onChange` with every change any instance (this one included) makes from now on, and with `{}` and
   * `{ scope: '*' }` ("read everything again") after a (re)connection, when changes may have been missed. The first
   * subscription opens what the feed needs (a connection, a watch). Returns the function that stops it.
   */
  subscribe(onChange: (change: StateChange) => void): () => void;
  /** Tells every other instance that the global state, or the state of `change.scope`, changed. */
  publish(change: StateChange): Promise<void>;
  /** Ends every subscription and closes what they opened. */
  close(): Promise<void>;
}

/**
 * The text a feed sends for a change: `{"revision":17}` for the global state, `{"scope":"billing","revision":18}` for a
 * scope (under 200 bytes).
 */
export function encodeChange(change: StateChange): string {
  const revision = change.revision === undefined ? {} : { revision: change.revision };
  return JSON.stringify(change.scope === undefined ? revision : { scope: change.scope, ...revision });
}

/**
 * Reads a change sent by {@link encodeChange}, or by an older version that sent the whole state (`{ enabled, … }` or
 * `{ scope, state }`): whatever it held, the receiver reads the state again. Text that is no such JSON means "read
 * everything again" (`undefined`).
 */
export function decodeChange(text: string): StateChange | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { scope, revision } = value as { scope?: unknown; revision?: unknown };
  const known = Number.isSafeInteger(revision) ? { revision: revision as number } : {};
  return typeof scope === 'string' ? { scope, ...known } : known;
}

/** The placeholder a store replaces with the revision it assigns, inside the JSON it writes (`"revision":-1`). */
export const REVISION_PLACEHOLDER = -1;
