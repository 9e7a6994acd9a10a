/**
 * Hold and release: a request that would get the maintenance answer waits for maintenance to end, then goes on to
 * the app. It waits on the service's change signal (a pushed change arrives at once) and re-reads the state through
 * the service's cache at most every `pollMs` (stores without push, and windows that end by themselves); no timer or
 * listener outlives the wait, and nothing blocks the event loop.
 */
import type { ParameterizedContext } from 'koa';

/** How a held request ends: released to the app, answered with maintenance, or dropped (the client left). */
export type HoldOutcome = 'release' | 'answer' | 'gone';

/** What a hold needs to know about the request's state. */
export interface HoldWatch {
  /** Whether the request would still be blocked (reads through the service's cache). */
  stillBlocked(): boolean | Promise<boolean>;
  /** Subscribes to the service's change signal. */
  watch(listener: () => void): () => void;
}

/** Holds requests for one `maintenance()`, counting how many wait. */
export interface Holder {
  hold(ctx: ParameterizedContext, watch: HoldWatch): Promise<HoldOutcome>;
  /** Requests waiting now. */
  readonly held: number;
}

/** Builds the holder of one `maintenance()` configuration. */
export function createHolder(settings: { maxMs: number; maxHeld: number; pollMs: number }): Holder {
  let held = 0;
  return {
    get held() {
      return held;
    },
    hold(ctx, w) {
      if (held >= settings.maxHeld) return Promise.resolve('answer');
      held++;
      return new Promise<HoldOutcome>((resolve) => {
        let done = false;
        const timers: NodeJS.Timeout[] = [];
        const finish = (outcome: HoldOutcome) => {
          if (done) return;
          done = true;
          held--;
          for (const t of timers) clearTimeout(t);
          unwatch();
          ctx.res.off('close', gone);
          resolve(outcome);
        };
        const check = () => {
          if (done) return;
          Promise.resolve(w.stillBlocked()).then(
            (blocked) => {
              if (!blocked) finish('release');
            },
            () => undefined, // the service never throws here; a failure means "still blocked"
          );
        };
        const gone = () => finish('gone');
        const unwatch = w.watch(check);
        ctx.res.once('close', gone);
        const poll = () => {
          check();
          if (!done) timers[0] = setTimeout(poll, settings.pollMs);
        };
        timers[0] = setTimeout(poll, settings.pollMs);
        timers[1] = setTimeout(() => finish('answer'), settings.maxMs);
        if (ctx.req.socket?.destroyed) finish('gone');
      });
    },
  };
}
