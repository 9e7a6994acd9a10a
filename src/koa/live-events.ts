/**
 * `GET <prefix>/events`: a Server-Sent Events stream of what `public.json` says (see live-hub.ts), for everyone,
 * capped per instance and per client. The stream is written past Koa (`ctx.respond = false`), so no body middleware
 * (compression, a body logger) buffers it; headers set by earlier middleware are kept. Works the same on Koa 2 and 3.
 */
import type { ServerResponse } from 'node:http';
import type { ParameterizedContext } from 'koa';
import { clientKey } from '../core/ip.js';
import { LIVE_RETRY_AFTER_SECONDS, retryFrame } from '../core/live.js';
import type { MaintenanceService } from '../service/service.js';
import { type LiveCaps, LiveHub } from './live-hub.js';

/** What the events route needs besides its caps. */
export interface LiveEventsSettings {
  readonly caps: LiveCaps;
  /** The service whose state is streamed (resolved per request, like the other routes). */
  readonly service: () => MaintenanceService;
  /** The `?scope=` of a request, or false once an invalid one was answered with 400 (as `public.json` does). */
  readonly scopeOf: (ctx: ParameterizedContext) => string | undefined | false;
}

/** The events route's handler and the hub behind it. */
export interface LiveEvents {
  readonly handle: (ctx: ParameterizedContext) => Promise<void>;
  readonly hub: LiveHub;
}

/** The headers of a stream, as raw name/value pairs. */
const STREAM_HEADERS: readonly string[] = Object.freeze([
  'Content-Type',
  'text/event-stream; charset=utf-8',
  'Cache-Control',
  'no-cache',
  'X-Accel-Buffering', // nginx: pass each event on at once
  'no',
  'Access-Control-Allow-Origin', // public, like public.json
  '*',
]);

/**
 * Node keeps a response's header block for as long as the response lives, as the string it concatenated line by line
 * (a tree of ~25 small strings). A stream lives long and there are thousands: reading it as a number makes V8 store it
 * flat (the "flatstr" idiom; it changes nothing else), ~0.5 KiB less per stream.
 */
function flattenHeaderText(res: ServerResponse): void {
  const header = (res as unknown as { _header?: unknown })._header;
  if (typeof header === 'string') void (Number(header) | 0);
}

/** 503 with `Retry-After`: a cap is met, or the service is closing. */
function turnAway(ctx: ParameterizedContext, why: string): void {
  ctx.status = 503;
  ctx.set('Retry-After', String(LIVE_RETRY_AFTER_SECONDS));
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `${why}; retry in ${LIVE_RETRY_AFTER_SECONDS} seconds.\n`;
}

/** Builds the events route of one routes configuration. */
export function createLiveEvents(settings: LiveEventsSettings): LiveEvents {
  const hub = new LiveHub(settings.caps);
  async function liveEvents(ctx: ParameterizedContext): Promise<void> {
    const scope = settings.scopeOf(ctx);
    if (scope === false) return;
    const service = settings.service();
    if (service.closed) return turnAway(ctx, 'Live events are not served: this instance is shutting down');
    const client = clientKey(ctx.ip);
    if (!hub.admits(client)) return turnAway(ctx, 'Too many live connections');
    ctx.status = 200;
    if (ctx.method === 'HEAD') {
      for (let i = 0; i < STREAM_HEADERS.length; i += 2) ctx.set(STREAM_HEADERS[i], STREAM_HEADERS[i + 1]);
      return;
    }
    if (ctx.req.socket.destroyed) return; // the client left already
    ctx.respond = false;
    const res = ctx.res;
    // The connection closes with the stream (an ended stream is reconnected anew): a server that closes is not kept
    // waiting for idle keep-alive connections.
    res.shouldKeepAlive = false;
    ctx.req.socket.setTimeout(0); // a stream is long by design; keep-alive comments keep proxies from timing it out
    // Raw headers: Node keeps no header table for them (headers earlier middleware set are merged and kept).
    res.writeHead(200, STREAM_HEADERS as string[]);
    res.write(retryFrame(Math.random()));
    flattenHeaderText(res);
    const lastEventId = ctx.get('Last-Event-ID');
    hub.open({
      res,
      service,
      scope,
      acceptLanguage: ctx.get('Accept-Language'),
      client,
      lastEventId: lastEventId === '' ? undefined : lastEventId,
    });
  }
  return { handle: liveEvents, hub };
}
