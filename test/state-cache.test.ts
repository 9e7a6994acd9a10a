import { join } from 'node:path';
import { expect } from 'chai';
import { MaintenanceError } from '../src/core/errors.js';
import type { MaintenanceState } from '../src/core/state.js';
import { createStateCache } from '../src/service/state-cache.js';
import type { ReadResult, StateStore } from '../src/store/state-store.js';
import { captureLogger } from './helpers/app.js';
import { runSync } from './helpers/children.js';

/**
 * A store whose reads the test answers by hand, a clock the test moves, and the cache's ticks run by that clock:
 * `advance` is time in which the event loop runs on time; `stall` is time in which it runs nothing (blocked, stopped).
 */
function harness(ttlMs = 1000, fallbackValue = false) {
  let now = 0;
  const pending: Array<(r: ReadResult) => void> = [];
  const timers: Array<{ at: number; fn: () => void }> = [];
  const store: Pick<StateStore, 'read' | 'description'> = {
    description: 'the test store',
    read: () => new Promise<ReadResult>((resolve) => pending.push(resolve)),
  };
  const logger = captureLogger();
  const schedule = (fn: () => void, ms: number) => {
    timers.push({ at: now + ms, fn });
  };
  const cache = createStateCache({ store, ttlMs, fallbackValue, clock: () => now, logger, schedule });
  const settle = () => new Promise((r) => setImmediate(r));
  /** Runs the ticks due by `end`, each at its time or, when the loop was stalled past it, now (late). */
  const runTimers = (end: number) => {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (next === undefined || next.at > end) break;
      timers.shift();
      now = Math.max(now, next.at);
      next.fn();
    }
    now = end;
  };
  return {
    cache,
    logger,
    pending,
    advance: (ms: number) => runTimers(now + ms),
    stall: (ms: number) => {
      now += ms;
    },
    answer: async (r: ReadResult) => {
      (pending.shift() as (r: ReadResult) => void)(r);
      await settle();
    },
    settle,
  };
}
const on: ReadResult = { ok: true, state: { enabled: true } };
const off: ReadResult = { ok: true, state: { enabled: false } };
const down: ReadResult = {
  ok: false,
  error: new MaintenanceError('ERR_MAINTENANCE_STORE_READ', 'Reading the test store failed: down'),
};

describe('state cache: reads, freshness and outages', () => {
  it('waits for the first read, then answers from memory while fresh (one read per cacheTtlMs)', async () => {
    const h = harness();
    const first = h.cache.get();
    await h.answer(on);
    expect(await first).to.deep.equal({ enabled: true });
    h.advance(999);
    expect(await h.cache.get()).to.deep.equal({ enabled: true });
    expect(h.cache.reads).to.equal(1);
  });

  it('serves a stale entry while one background read refreshes it', async () => {
    const h = harness();
    const first = h.cache.get();
    await h.answer(on);
    await first;
    h.advance(1500);
    expect(await h.cache.get()).to.deep.equal({ enabled: true }); // no wait
    expect(await h.cache.get()).to.deep.equal({ enabled: true });
    expect(h.pending).to.have.length(1); // one refresh, not one per request
    await h.answer(off);
    expect(await h.cache.get()).to.deep.equal({ enabled: false });
  });

  it('makes a request wait for a read when the entry is older than two cacheTtlMs (idle process)', async () => {
    const h = harness();
    const first = h.cache.get();
    await h.answer(on);
    await first;
    h.advance(2500);
    let settled = false;
    const p = h.cache.get().then((s) => {
      settled = true;
      return s;
    });
    await h.settle();
    expect(settled).to.equal(false);
    await h.answer(off);
    expect(await p).to.deep.equal({ enabled: false });
  });

  it('keeps the last good state for cacheTtlMs into an outage, then uses fallbackValue, and recovers', async () => {
    const h = harness(1000, true);
    const first = h.cache.get();
    await h.answer(off);
    await first;
    h.advance(1000);
    void h.cache.get(); // starts a refresh
    await h.answer(down); // outage begins at t=1000
    expect(await h.cache.get()).to.deep.equal({ enabled: false }); // last good, still
    expect(h.logger.warnings).to.have.length(1);
    expect(h.logger.warnings[0]).to.include('the last known state for 1000 ms, then fallbackValue=true');
    h.advance(1000);
    void h.cache.get();
    await h.answer(down); // t=2000: the outage has lasted cacheTtlMs
    expect(await h.cache.get()).to.deep.equal({ enabled: true }); // fallbackValue
    expect(h.logger.warnings).to.have.length(1); // one warning per outage
    h.advance(1000);
    void h.cache.get();
    await h.answer(off);
    expect(await h.cache.get()).to.deep.equal({ enabled: false });
    expect(h.logger.infos).to.deep.equal(['koa-maintenance-mode: the test store is readable again.']);
  });

  it('probes a failing store at most once per cacheTtlMs (circuit breaker), without making requests wait', async () => {
    const h = harness(1000);
    const first = h.cache.get();
    await h.answer(down);
    await first;
    for (let i = 0; i < 50; i++) {
      h.advance(10);
      await h.cache.get();
    }
    expect(h.cache.reads).to.equal(1); // 500 ms of requests: no new probe
    h.advance(600);
    await h.cache.get();
    expect(h.cache.reads).to.equal(2);
  });

  it('applies pushed states at once and ignores a read that started before the push', async () => {
    const h = harness();
    const first = h.cache.get();
    await h.answer(off);
    await first;
    h.advance(1500);
    void h.cache.get(); // background read of the old state starts
    const pushed: MaintenanceState = { enabled: true, message: 'pushed' };
    h.cache.accept(pushed);
    await h.answer(off); // the slow, older read completes after the push
    expect(await h.cache.get()).to.deep.equal(pushed);
  });

  it('re-reads at once when told the state changed without its content (file watch, reconnect)', async () => {
    const h = harness();
    const first = h.cache.get();
    await h.answer(off);
    await first;
    h.cache.invalidate();
    const next = h.cache.get();
    await h.answer(on);
    expect(await next).to.deep.equal({ enabled: true });
  });

  it('reads on every call with cacheTtlMs 0, and a failure is the fallback at once', async () => {
    const h = harness(0, true);
    const a = h.cache.get();
    await h.answer(off);
    expect(await a).to.deep.equal({ enabled: false });
    const b = h.cache.get();
    await h.answer(down);
    expect(await b).to.deep.equal({ enabled: true });
    expect(h.cache.reads).to.equal(2);
  });

  it('answers fresh() from memory for cacheTtlMs (a clock read, no I/O), and no longer once it is stale or signalled', async () => {
    const h = harness(50);
    const first = h.cache.get();
    await h.answer(on);
    await first;
    expect(h.cache.fresh(), 'fresh right after the read').to.deep.equal({ enabled: true });
    h.advance(49);
    expect(h.cache.fresh(), 'fresh until cacheTtlMs have passed').to.deep.equal({ enabled: true });
    h.advance(1);
    expect(h.cache.fresh(), 'stale once cacheTtlMs have passed').to.equal(undefined);
    const again = h.cache.get();
    await h.answer(on);
    await again;
    expect(h.cache.fresh()).to.deep.equal({ enabled: true });
    void h.cache.invalidate();
    expect(h.cache.fresh(), 'a change signal ends freshness at once').to.equal(undefined);
  });

  it('ends freshness by the clock when the timers are late: a stopped process answers nothing from before it stopped', async () => {
    const h = harness(1000);
    const first = h.cache.get();
    await h.answer(on);
    await first;
    h.stall(1500); // SIGSTOP, then SIGCONT: requests run before the overdue ticks
    expect(h.cache.fresh(), 'fresh() right after the stall').to.equal(undefined);
    let served: MaintenanceState | undefined;
    const next = h.cache.get().then((s) => {
      served = s;
    });
    await h.settle();
    expect(served, 'served without a read (stale-while-revalidate)').to.equal(undefined);
    expect(h.pending, 'reads started after the stall').to.have.length(1);
    await h.answer(off);
    await next;
    expect(served).to.deep.equal({ enabled: false });
  });

  it('keeps serving stale-while-revalidate after an on-time loop, not after a stall longer than cacheTtlMs', async () => {
    const h = harness(1000);
    const first = h.cache.get();
    await h.answer(on);
    await first;
    h.advance(1200); // the loop ran on time: a background refresh, the stale entry served meanwhile
    expect(await h.cache.get()).to.deep.equal({ enabled: true });
    await h.answer(on);
    h.advance(500);
    h.stall(1100); // the loop ran nothing for longer than cacheTtlMs
    h.advance(0); // the overdue tick runs, late
    let served = false;
    const after = h.cache.get().then(() => {
      served = true;
    });
    await h.settle();
    expect(served, 'the first request after the stall waits for a read').to.equal(false);
    await h.answer(off);
    await after;
  });

  it('does not serve a read that waited out a stall: the value is as old as the read, and one more read follows', async () => {
    const h = harness(1000);
    const first = h.cache.get();
    await h.answer(on);
    await first;
    h.advance(1200);
    expect(await h.cache.get()).to.deep.equal({ enabled: true }); // a background read starts
    h.stall(1500); // its answer (from before the stall) waits in the queue meanwhile
    await h.answer(on);
    expect(h.cache.fresh(), 'fresh() with that answer').to.equal(undefined);
    const next = h.cache.get();
    await h.settle();
    expect(h.pending, 'a read that starts after the stall').to.have.length(1);
    await h.answer(off);
    expect(await next).to.deep.equal({ enabled: false });
  });

  it("keeps the objects a request reads in V8's fast mode (a getter in a literal makes a dictionary)", function () {
    this.timeout(30_000); // a Node process, allowed 25 s
    // %HasFastProperties needs --allow-natives-syntax: asked of a child process over the compiled modules.
    const script = `
      const { createCache } = require('./state-cache.js');
      const { createInFlight } = require('./fleet.js');
      const { createHolder } = require('../koa/hold.js');
      const cache = createCache({ source: { description: 'x', read: async () => ({ ok: true, state: 1 }) }, ttlMs: 1000,
        initial: 0, fallback: 0, fallbackText: '', what: '', same: (a, b) => a === b, clock: () => 0, logger: console });
      const holder = createHolder({ maxMs: 1000, maxHeld: 10, maxHeldPerClient: 10, pollMs: 100, releaseSpreadMs: 1000 });
      console.log(JSON.stringify([%HasFastProperties(cache), %HasFastProperties(createInFlight()),
        %HasFastProperties(holder), cache.reads, holder.held]));`;
    const r = runSync(process.execPath, ['--allow-natives-syntax', '-e', script], {
      cwd: join(__dirname, '..', 'src', 'service'),
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout), 'cache, in-flight counts, holder; their getters still read').to.deep.equal([
      true,
      true,
      true,
      0,
      0,
    ]);
  });
});
