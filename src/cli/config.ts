/** `--config FILE`: service options (and the middleware options `why` and `render` use) from a .js, .cjs or .json file. */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { MaintenanceError } from '../core/errors.js';
import type { MaintenanceOptions } from '../koa/options.js';
import type { MaintenanceServiceOptions } from '../service/service-options.js';

/** What a config file exports: service options, and optionally `maintenance`, the middleware options. */
export type CliConfig = MaintenanceServiceOptions & { maintenance?: MaintenanceOptions };

const invalid = (message: string) => new MaintenanceError('ERR_MAINTENANCE_INVALID_OPTION', message);

/** Loads the config file `file` (relative to `cwd`); every problem is a `MaintenanceError` naming the file. */
export function loadConfig(file: string, cwd: string): CliConfig {
  const path = resolve(cwd, file);
  if (!existsSync(path)) throw invalid(`--config file ${path} does not exist.`);
  const ext = extname(path).toLowerCase();
  if (!['.js', '.cjs', '.json'].includes(ext))
    throw invalid(`--config must be a .js, .cjs or .json file; received ${path}.`);
  let loaded: unknown;
  try {
    loaded = require(path);
  } catch (err) {
    throw invalid(`--config file ${path} cannot be loaded: ${(err as Error).message}`);
  }
  const options = (loaded as { default?: unknown })?.default ?? loaded;
  if (typeof options !== 'object' || options === null)
    throw invalid(`--config file ${path} must export an options object.`);
  return options as CliConfig;
}
