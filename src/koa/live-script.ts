/**
 * `GET <prefix>/live.js`: the script of live pages (`views/maintenance-live.js`: no dependency), read once and served
 * as a file with an ETag, so a strict `Content-Security-Policy: script-src 'self'` allows it and nothing is inline.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParameterizedContext } from 'koa';
import { packagedViewsDir } from './render.js';

/** The script's bytes, its ETag and the version pages put in its URL (`?v=`), so a new script is fetched at once. */
export interface LiveScript {
  readonly body: Buffer;
  readonly etag: string;
  readonly version: string;
}

let loaded: LiveScript | undefined;

/** The packaged script, read on first use. */
export function liveScript(): LiveScript {
  if (loaded === undefined) {
    const body = readFileSync(join(packagedViewsDir(), 'maintenance-live.js'));
    const version = createHash('sha256').update(body).digest('base64url').slice(0, 16);
    loaded = { body, etag: `"${version}"`, version };
  }
  return loaded;
}

/** Answers `GET <prefix>/live.js`: 200 with the script (cacheable for a day), or 304 for a matching `If-None-Match`. */
export async function serveLiveScript(ctx: ParameterizedContext): Promise<void> {
  const script = liveScript();
  ctx.status = 200;
  ctx.set('Cache-Control', 'public, max-age=86400');
  ctx.set('ETag', script.etag);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.type = 'application/javascript; charset=utf-8';
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.body = script.body;
}
