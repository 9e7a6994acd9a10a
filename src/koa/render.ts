/** The only file that imports nunjucks: finds the packaged views and renders the maintenance page. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import nunjucks from 'nunjucks';
import { invalidOption } from '../core/validate.js';

/** Renders the configured template with a context. Throws on template errors (the caller falls back to text). */
export type Renderer = (context: Record<string, unknown>) => string;

/**
 * The packaged `views/` directory. Compiled code lives in `dist/` in the package and in `build/src/` in tests,
 * so walk up from here to the first directory holding `views/503.html` instead of assuming one layout.
 */
export function packagedViewsDir(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'views');
    if (existsSync(join(candidate, '503.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`koa-maintenance-mode: packaged views/503.html not found above ${from}; reinstall the package.`);
}

/**
 * Builds the renderer once. User directories come first, so an app's `503.html` replaces the packaged one and
 * can still `{% extends %}` packaged templates. Throws `MaintenanceError` for a missing directory or template.
 */
export function createRenderer(settings: { viewsDir: readonly string[]; template: string }): Renderer {
  const userDirs = settings.viewsDir.map((d) => resolve(d));
  for (const [i, dir] of userDirs.entries()) {
    let ok = false;
    try {
      ok = statSync(dir).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok)
      invalidOption(`viewsDir[${i}]`, `must be an existing directory (resolved to ${dir})`, settings.viewsDir[i]);
  }
  const searchPaths = [...userDirs, packagedViewsDir()];
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(searchPaths, { noCache: false, watch: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  try {
    env.getTemplate(settings.template, true);
  } catch (err) {
    invalidOption(
      'template',
      `must name a template found in ${searchPaths.join(' or ')} (${(err as Error).message.split('\n')[0]})`,
      settings.template,
    );
  }
  return (context) => env.render(settings.template, context);
}
