/**
 * `GET <prefix>/events`: a Server-Sent Events stream of what `public.json` says (see live-hub.ts), for everyone,
 * capped per instance and per client. The stream is written past Koa (`ctx.respond = false`), so no body middleware
 * (compression, a body logger) buffers it; headers set by earlier middleware are kept. Works the same on Koa 2 and 3.
 */
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
    ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('X-Accel-Buffering', 'no'); // nginx: pass each event on at once
    ctx.set('Access-Control-Allow-Origin', '*'); // public, like public.json
    if (ctx.method === 'HEAD') return;
    if (ctx.req.socket.destroyed) return; // the client left already
    ctx.respond = false;
    const res = ctx.res;
    // The connection closes with the stream (an ended stream is reconnected anew): a server that closes is not kept
    // waiting for idle keep-alive connections.
    res.shouldKeepAlive = false;
    ctx.req.socket.setTimeout(0); // a stream is long by design; keep-alive comments keep proxies from timing it out
    res.write(retryFrame(Math.random()));
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
