/**
 * `render`: the maintenance page (and its JSON twin) from the stored state as static files, for a reverse proxy to
 * serve while the app itself is down; without --out the page goes to stdout. Uses the config's `maintenance` options
 * (template, viewsDir, translations, retryAfter, …).
 */
import { resolve } from 'node:path';
import { stateInForce } from '../../core/scope.js';
import type { MaintenanceState } from '../../core/state.js';
import { staticAnswer } from '../../koa/answer-text.js';
import { type MaintenanceOptions, resolveOptions } from '../../koa/options.js';
import { createRenderer } from '../../koa/render.js';
import type { MaintenanceService } from '../../service/service.js';
import { writeFileAtomic } from '../../store/file/file-write.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT, UsageError } from '../io.js';

/** What the page is rendered from: the state in force and the config's `maintenance` options. */
export interface RenderSource {
  /** The state in force now (global, or of `--scope`). */
  readonly current: MaintenanceState;
  /** The config file's `maintenance` options. @default undefined (the packaged page and defaults) */
  readonly options?: MaintenanceOptions;
}

/** Writes the files (or the page to stdout) and says how a proxy should serve them. */
export async function render(p: Parsed, service: MaintenanceService, io: CliIo, from: RenderSource): Promise<number> {
  const { current, options } = from;
  const config = resolveOptions({ ...(options ?? {}), service });
  const lang = p.locale ?? config.defaultLocale;
  if (!config.locales.includes(lang)) {
    throw new UsageError(`--locale must be one of ${config.locales.join(', ')}; received ${JSON.stringify(lang)}.`);
  }
  const global = p.scope ? await service.getStoredState() : current;
  const state = p.scope ? stateInForce(global, current, p.scope, new Date()).state : current;
  const answer = staticAnswer({ config, render: createRenderer(config) }, state, lang, new Date());
  if (p.out === undefined && p['json-out'] === undefined) {
    io.stdout.write(answer.html);
    return EXIT.ok;
  }
  for (const [option, file, text] of [
    ['--out', p.out, answer.html],
    ['--json-out', p['json-out'], answer.json],
  ] as const) {
    if (file === undefined) continue;
    const path = resolve(io.cwd, file);
    await writeFileAtomic(path, text, {
      what: `the ${option} file`,
      fix: `choose an ${option} path in a directory that exists.`,
    });
    io.stdout.write(`Wrote ${path} (${Buffer.byteLength(text)} bytes).\n`);
  }
  if (answer.retryAfter) io.stdout.write(`Serve it with status 503 and Retry-After: ${answer.retryAfter}\n`);
  return EXIT.ok;
}
