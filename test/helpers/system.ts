import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Whether `binary` (a name on PATH or an absolute path) can be run. */
export function hasBinary(binary: string): boolean {
  const candidates = isAbsolute(binary)
    ? [binary]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, binary));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Shared with scripts/mocha-reporter.cjs, which prints one line naming every missing package before the summary. */
const MISSING = Symbol.for('koa-maintenance-mode.test.missing-packages');

function missingPackages(): Set<string> {
  const g = globalThis as { [MISSING]?: Set<string> };
  g[MISSING] ??= new Set<string>();
  return g[MISSING];
}

/** Under CI (`CI=true`) a missing `binary` is an error naming the install command. */
function failUnderCi(binary: string, debianPackage: string): void {
  if (process.env.CI === 'true' && !hasBinary(binary)) {
    throw new Error(`${binary} is not installed; CI must install it: apt-get install ${debianPackage}`);
  }
}

/**
 * Call first in a suite's `before` hook. When `binary` is missing: under CI (`CI=true`) the suite fails with the
 * install command; elsewhere its tests are skipped, and the run ends with one line naming the Debian packages.
 */
export function requireBinary(ctx: Mocha.Context, binary: string, debianPackage: string): void {
  if (hasBinary(binary)) return;
  failUnderCi(binary, debianPackage);
  missingPackages().add(debianPackage);
  ctx.skip();
}

/**
 * For a store contract factory (`describeMaintenanceStore`), when the suite is declared: outside CI, the reason its
 * scenarios are skipped when `binary` is missing (the run then ends with one line naming the Debian package);
 * undefined when it is installed, and under CI, where {@link needBinary} in the factory's setup fails the suite.
 */
export function unavailableWithout(binary: string, debianPackage: string): string | undefined {
  if (hasBinary(binary) || process.env.CI === 'true') return undefined;
  missingPackages().add(debianPackage);
  return `${binary} is not installed (apt-get install ${debianPackage})`;
}

/** Call first in a store contract factory's setup: under CI, a missing `binary` fails it with the install command. */
export function needBinary(binary: string, debianPackage: string): void {
  failUnderCi(binary, debianPackage);
}
