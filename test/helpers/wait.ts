/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` (sync or async) holds, polling every 10 ms; throws after `limitMs`. Resolves with the wait. */
export async function until(check: () => boolean | Promise<boolean>, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}
