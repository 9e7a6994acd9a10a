/**
 * The test runner the contract suite declares its tests with: mocha's, Jest's or Vitest's `describe`/`it` and hooks,
 * from the runner's globals or given explicitly. Nothing of a runner is imported, so the suite loads under any of them.
 */

/** A test or hook body as the runners call it (mocha gives it its context as `this`). */
type Body = (this: { timeout?(ms: number): unknown } | undefined) => unknown;

/** `it` (or `test`) of a runner: a title, a body, a timeout in milliseconds (Jest, Vitest), and `it.skip`. */
export interface RunnerTest {
  (title: string, fn: Body, timeoutMs?: number): unknown;
  skip(title: string, fn?: Body): unknown;
}

/** A runner's hook: `beforeAll`/`afterAll`/`afterEach` (Jest, Vitest) or `before`/`after`/`afterEach` (mocha). */
export type RunnerHook = (fn: Body, timeoutMs?: number) => unknown;

/**
 * The functions of a test runner the suite uses. Taken from the globals when not given: mocha, Jest and Vitest (with
 * `globals: true`) define them; with Vitest's imports, pass `{ describe, it, beforeAll, afterAll, afterEach }`.
 */
export interface TestRunnerApi {
  readonly describe: (title: string, fn: () => void) => unknown;
  readonly it: RunnerTest;
  readonly beforeAll?: RunnerHook;
  readonly before?: RunnerHook;
  readonly afterAll?: RunnerHook;
  readonly after?: RunnerHook;
  readonly afterEach: RunnerHook;
}

/** The runner, reduced to what the suite declares. */
export interface Runner {
  describe(title: string, fn: () => void): void;
  test(title: string, timeoutMs: number, fn: () => Promise<void>): void;
  skip(title: string): void;
  beforeAll(timeoutMs: number, fn: () => Promise<void>): void;
  afterAll(timeoutMs: number, fn: () => Promise<void>): void;
  afterEach(timeoutMs: number, fn: () => Promise<void>): void;
}

/** A body that sets mocha's timeout from inside (Jest and Vitest take it as an argument instead). */
function timed(timeoutMs: number, fn: () => Promise<void>): Body {
  return function (this) {
    this?.timeout?.(timeoutMs);
    return fn();
  };
}

/**
 * Declares with `hook`, giving the timeout both ways (not through what it returns: mocha's hooks return the suite,
 * whose timeout is every test's).
 */
function hook(register: RunnerHook | undefined, name: string, timeoutMs: number, fn: () => Promise<void>): void {
  if (typeof register !== 'function') throw new TypeError(`The test runner has no ${name} hook.`);
  register(timed(timeoutMs, fn), timeoutMs);
}

/** The runner of `given`, else of the globals; throws a TypeError naming what is missing. */
export function runnerOf(given?: Partial<TestRunnerApi>): Runner {
  const g = globalThis as unknown as Partial<TestRunnerApi> & { test?: RunnerTest };
  const api = { ...g, it: g.it ?? g.test, ...given } as Partial<TestRunnerApi>;
  if (typeof api.describe !== 'function' || typeof api.it !== 'function' || typeof api.it.skip !== 'function') {
    throw new TypeError(
      'describeMaintenanceStore() needs a test runner: run it under mocha, Jest or Vitest (with globals: true), or pass { describe, it, beforeAll, afterAll, afterEach }.',
    );
  }
  const { describe, it } = api as TestRunnerApi;
  return {
    describe: (title, fn) => void describe(title, fn),
    test(title, timeoutMs, fn) {
      const declared = it(title, timed(timeoutMs, fn), timeoutMs) as { timeout?(ms: number): unknown } | undefined;
      declared?.timeout?.(timeoutMs);
    },
    skip: (title) => void it.skip(title, () => undefined),
    beforeAll: (timeoutMs, fn) => hook(api.beforeAll ?? api.before, 'beforeAll (before)', timeoutMs, fn),
    afterAll: (timeoutMs, fn) => hook(api.afterAll ?? api.after, 'afterAll (after)', timeoutMs, fn),
    afterEach: (timeoutMs, fn) => hook(api.afterEach, 'afterEach', timeoutMs, fn),
  };
}
