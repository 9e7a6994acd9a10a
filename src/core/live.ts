/**
 * Live pages (`GET <prefix>/events`, Server-Sent Events): the frames sent, the id of an event (the state revision), and
 * when a client that reconnects with `Last-Event-ID` already holds what it would be sent. Pure.
 */
import { type MaintenanceState, revisionOf } from './state.js';

/** Defaults of the `live` option of the routes: connections one instance serves at most. */
export const LIVE_DEFAULTS = Object.freeze({ maxClients: 10_000 });

/** Defaults of the `liveReload` option of `maintenance()`. */
export const LIVE_RELOAD_DEFAULTS = Object.freeze({ jitterMs: 10_000 });

/** How often every open stream gets a comment line, so proxies and browsers keep an idle connection open. */
export const KEEP_ALIVE_MS = 25_000;

/** The keep-alive comment (ignored by EventSource). */
export const KEEP_ALIVE_FRAME = ': keep-alive\n\n';

/**
 * Bytes a stream may have waiting to be sent before its client counts as one that stopped reading and is dropped:
 * an event is a few hundred bytes, so a client this far behind has stopped reading, and it is never buffered further.
 */
export const MAX_BUFFERED_BYTES = 64 * 1024;

/** Seconds a client turned away (a cap met, the instance closing) is told to wait: `Retry-After`. */
export const LIVE_RETRY_AFTER_SECONDS = 30;

/**
 * The `retry:` field of a new stream: how long its browser waits before it reconnects after the stream breaks, chosen
 * per connection in [2 s, 10 s) so that the clients of an instance that restarts do not all come back at once.
 */
export function retryFrame(random: number): string {
  return `retry: ${2000 + Math.floor(random * 8000)}\n\n`;
}

/** One `state` event: the revision as its id, the JSON of `public.json` as its data (one line: JSON escapes newlines). */
export function stateFrame(revision: number, json: string): string {
  return `event: state\nid: ${revision}\ndata: ${json}\n\n`;
}

/** What a public view is made of: the global state and, for a scope, its own stored state (undefined: none). */
export interface LiveView {
  readonly global: MaintenanceState;
  readonly scope?: string;
  readonly scoped?: MaintenanceState;
}

/**
 * The id of the view's events: the revision of the newest state it is made of (the store gives every write the next
 * number of one counter, so a change of either state gives a higher id).
 */
export function viewRevision(view: LiveView): number {
  const own = view.scoped === undefined ? 0 : revisionOf(view.scoped);
  return Math.max(revisionOf(view.global), own);
}

/** Whether what `state` means can change by the clock alone: a start, an end, a lease or recurring windows. */
function clockBound(state: MaintenanceState): boolean {
  return (
    state.start !== undefined ||
    state.end !== undefined ||
    state.leaseUntil !== undefined ||
    (state.windows !== undefined && state.windows.length > 0)
  );
}

/**
 * Whether a client reconnecting with `lastEventId` already holds what the view says now, so it is not sent again: its
 * id is the view's revision (a positive one: 0 is also a forced mode's, a fallback's, a never-written state's), and
 * nothing in the view changes by the clock (else its answer may have changed since, under the same revision). For a
 * scope the scope must have a stored state: when it has none, the revision does not say when it was switched off.
 */
export function upToDate(lastEventId: string | undefined, view: LiveView): boolean {
  const revision = viewRevision(view);
  if (lastEventId === undefined || revision === 0 || lastEventId.trim() !== String(revision)) return false;
  if (clockBound(view.global)) return false;
  if (view.scope === undefined) return true;
  return view.scoped !== undefined && !clockBound(view.scoped);
}
