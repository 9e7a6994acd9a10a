/** Loading an optional peer dependency with an error that says what to install. */
import { MaintenanceError } from './errors.js';

/** Runs `load` (a `require` written in the owning file) and turns "module not found" into a fix. */
export function loadPeer<T>(load: () => T, pkg: string, feature: string): T {
  try {
    return load();
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code !== 'MODULE_NOT_FOUND') throw err;
    throw new MaintenanceError(
      'ERR_MAINTENANCE_MISUSE',
      `${feature} needs the package ${pkg}: run \`npm install ${pkg}\`.`,
      {
        cause: err,
      },
    );
  }
}
