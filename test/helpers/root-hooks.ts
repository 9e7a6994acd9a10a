/**
 * Mocha root hooks (.mocharc.json `require`s the compiled file): after the last test, every child process a test
 * started and did not end is ended (test/helpers/children.ts), and named, so a leak is seen, not waited for.
 */
import { killChildren } from './children.js';

/** Root hooks, in the shape mocha's root-hook plugins export. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    const ended = await killChildren();
    if (ended.length > 0) {
      process.stderr.write(
        `Ended ${ended.length} child process(es) the tests left running:\n  ${ended.join('\n  ')}\n`,
      );
    }
  },
};
