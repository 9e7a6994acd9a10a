/**
 * Runs `concurrency` request loops round robin over `bases` (like a load balancer) until `stop` resolves; returns how
 * many answers of each status came back (0: no answer) and the slowest request in milliseconds.
 */
export async function loadUntil(bases: () => readonly string[], stop: Promise<unknown>, concurrency = 8) {
  const statuses = new Map<number, number>();
  let slowest = 0;
  let done = false;
  void stop.then(() => {
    done = true;
  });
  let turn = 0;
  const worker = async () => {
    while (!done) {
      const targets = bases();
      const t0 = performance.now();
      const res = await fetch(`${targets[turn++ % targets.length]}/`).catch(() => undefined);
      slowest = Math.max(slowest, performance.now() - t0);
      await res?.arrayBuffer();
      const code = res?.status ?? 0;
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { statuses: Object.fromEntries(statuses), slowest };
}
