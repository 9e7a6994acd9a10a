import Module from 'node:module';
import { join } from 'node:path';

/** Node's resolver, which module-alias and tsconfig-paths patch the same way; internal but stable since Node 0.x. */
type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const resolver = Module as unknown as { _resolveFilename: Resolve };

/** Which installed package answers `require(name)`: `{ koa: 'koa2' }` sends `koa` and `koa/…` to the `koa2` alias. */
export type PeerRedirects = Readonly<Record<string, string>>;

/** Sends requires of the redirected packages to their aliases until the returned function is called. */
export function redirectPeers(redirects: PeerRedirects): () => void {
  const original = resolver._resolveFilename;
  resolver._resolveFilename = function (request, parent, isMain, options) {
    for (const [name, alias] of Object.entries(redirects)) {
      if (request === name || request.startsWith(`${name}/`)) {
        return original.call(this, alias + request.slice(name.length), parent, isMain, options);
      }
    }
    return original.call(this, request, parent, isMain, options);
  };
  return () => {
    resolver._resolveFilename = original;
  };
}

/** The compiled tests and test helpers (build/test), whose cached copies must not be shared with a redirected run. */
const TESTS = join(__dirname, '..');

/** The cached modules under build/test and under the redirected packages: what a redirected load replaces. */
function cachedTests(): Map<string, NodeJS.Module> {
  const cached = new Map<string, NodeJS.Module>();
  for (const [file, mod] of Object.entries(require.cache)) {
    if (file.startsWith(TESTS) && mod) cached.set(file, mod);
  }
  return cached;
}

/**
 * Defines the suites of `files` (compiled test files, by name) again, inside the current `describe`, with the
 * redirected packages: the files and the helpers they load are required afresh with the redirect on, then the module
 * cache is put back as it was, so that mocha's own load of the same files (and everything else) is untouched. The
 * redirect is on again while the suites run (`before`/`after`), for packages the tests load lazily.
 */
export function suitesWithPeers(redirects: PeerRedirects, files: readonly string[]): void {
  const before = cachedTests();
  const restore = redirectPeers(redirects);
  try {
    for (const file of files) require(join(TESTS, `${file}.test.js`));
  } finally {
    restore();
    for (const file of Object.keys(require.cache)) {
      if (file.startsWith(TESTS) && !before.has(file)) delete require.cache[file];
    }
    for (const [file, mod] of before) require.cache[file] = mod;
  }
  let undo: (() => void) | undefined;
  globalThis.before(() => {
    undo = redirectPeers(redirects);
  });
  globalThis.after(() => undo?.());
}
