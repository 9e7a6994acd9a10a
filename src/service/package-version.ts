/** This package's version, as the fleet reports it: from the package.json above the running file. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let version: string | undefined;

/** The `version` of koa-maintenance-mode's own package.json ('unknown' when it cannot be found). */
export function packageVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'koa-maintenance-mode') {
      version = pkg.version ?? 'unknown';
      break;
    }
  }
  return version;
}
