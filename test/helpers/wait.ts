/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long a test waits for something that takes milliseconds on an idle machine (a push, a heartbeat, a file event, a
 * line a process prints) before it says that it never came: generous, so that two cores busy with a benchmark do not
 * fail the test. How fast it comes is the benchmarks' business. A test that waits this long says `this.timeout()` of
 * more than its waits add up to.
 */
export const PATIENCE_MS = 20_000;

/** Waits until `check` (sync or async) holds, polling every 10 ms; throws after `limitMs`. Resolves with the wait. */
export async function until(check: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}
