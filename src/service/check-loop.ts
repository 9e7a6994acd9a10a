/**
 * The health check loop of an `autoTrip()`: runs the check every `intervalMs` on a timer that does not keep the process
 * alive, one at a time. A check still running at `timeoutMs` counts as failed (its signal aborts); each later tick that
 * finds it still running counts one more failure and starts nothing, so a hanging check is seen as failing and never
 * piles up. A check that answers after its timeout is not counted again; the next tick starts a new one.
 */
import { performance } from 'node:perf_hooks';
import { type CheckOutcome, shortError } from '../core/auto-trip.js';

/** Settings of {@link startCheckLoop}. */
export interface CheckLoopSettings {
  /** Names the check in the abort reason. */
  readonly name: string;
  readonly check: (signal: AbortSignal) => boolean | Promise<boolean>;
  readonly intervalMs: number;
  /** At most `intervalMs`. */
  readonly timeoutMs: number;
  /** Told of every outcome, in order. */
  readonly onOutcome: (outcome: CheckOutcome) => void;
}

/** Runs `check`, turning its answer, a throw or a rejection into an outcome (`true` alone is healthy). */
export async function runCheck(
  check: (signal: AbortSignal) => boolean | Promise<boolean>,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  try {
    const value = await check(signal);
    if (value === true) return { ok: true };
    if (value === false) return { ok: false, error: 'returned false' };
    return { ok: false, error: `returned ${value === null ? 'null' : typeof value}, not true or false` };
  } catch (err) {
    return { ok: false, error: shortError(err instanceof Error ? err.message : String(err)) };
  }
}

/** The check in flight. */
interface Running {
  readonly startedAt: number;
  readonly abort: AbortController;
  timedOut: boolean;
}

/** Starts the loop (the first check at once); returns the function that stops it and aborts a check in flight. */
export function startCheckLoop(s: CheckLoopSettings): () => void {
  let running: Running | undefined;
  let stopped = false;
  const tell = (outcome: CheckOutcome) => {
    if (!stopped) s.onOutcome(outcome);
  };
  const start = () => {
    const r: Running = { startedAt: performance.now(), abort: new AbortController(), timedOut: false };
    running = r;
    const timer = setTimeout(() => {
      r.timedOut = true;
      r.abort.abort(new Error(`autoTrip("${s.name}") check timed out after ${s.timeoutMs} ms`));
      tell({ ok: false, error: `timed out after ${s.timeoutMs} ms` });
    }, s.timeoutMs);
    timer.unref();
    void runCheck(s.check, r.abort.signal).then((outcome) => {
      clearTimeout(timer);
      if (running === r) running = undefined;
      if (!r.timedOut) tell(outcome);
    });
  };
  const tick = () => {
    if (stopped) return;
    const r = running;
    if (r === undefined) return start();
    if (!r.timedOut) return; // within its timeout still (a timer a little late)
    const ms = Math.round(performance.now() - r.startedAt);
    tell({ ok: false, error: `still running after ${ms} ms (timeoutMs ${s.timeoutMs}); none started meanwhile` });
  };
  const interval = setInterval(tick, s.intervalMs);
  interval.unref();
  setTimeout(tick, 0).unref();
  return () => {
    stopped = true;
    clearInterval(interval);
    running?.abort.abort();
  };
}
