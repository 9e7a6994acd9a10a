/**
 * Hold and release: a request that would get the maintenance answer waits for maintenance to end, then goes on to
 * the app. Held requests are grouped by what they wait for (a service and a scope); each group listens once to the
 * service's change signal (a pushed change is seen at once) and one timer for the whole holder re-checks every group
 * once per `pollMs` (stores without push, windows that end by themselves) and answers requests past their deadline.
 * No timer or listener per request, and nothing blocks the event loop.
 *
 * Released requests do not go back all at once (a thundering herd onto an app just back, #34): a group found
 * unblocked is queued in arrival order, its turns spread evenly over `releaseSpreadMs`, and one more timer for the
 * whole holder lets each through at its turn. Until its turn a request is still held: its limit still runs (past it,
 * it gets the maintenance answer, as any hold that times out), a client that leaves is dropped, and maintenance on
 * again puts the requests not yet released back to waiting.
 */
import { performance } from 'node:perf_hooks';
import type { ParameterizedContext } from 'koa';

/** How a held request ends: released to the app, answered with maintenance, or dropped (the client left). */
export type HoldOutcome = 'release' | 'answer' | 'gone';

/** What a held request waits for. Requests with the same `key` wait for the same thing and are checked together. */
export interface HoldWatch {
  readonly key: string;
  /** Whether the request would still be blocked (reads through the service's cache). */
  stillBlocked(): boolean | Promise<boolean>;
  /** Subscribes to the service's change signal. */
  watch(listener: () => void): () => void;
  /** Whether the service is closed (shutting down): then nothing is held, and what is held is answered. */
  closed(): boolean;
}

/** Settings of {@link createHolder}. */
export interface HoldSettings {
  readonly maxMs: number;
  readonly maxHeld: number;
  readonly maxHeldPerClient: number;
  readonly pollMs: number;
  /** The span over which the requests of one release go back to the app, in arrival order; 0: all at once. */
  readonly releaseSpreadMs: number;
}

/** Holds requests for one `maintenance()`, counting how many wait. */
export interface Holder {
  /**
   * Holds `ctx` until `watch` says it is no longer blocked, or until `arrivedAt + maxMs` (`performance.now()` time: the
   * limit counts from the request's arrival, not from when it was held). `client` counts toward `maxHeldPerClient`.
   */
  hold(ctx: ParameterizedContext, client: string, arrivedAt: number, watch: HoldWatch): Promise<HoldOutcome>;
  /** Requests waiting now. */
  readonly held: number;
}

interface Entry {
  readonly ctx: ParameterizedContext;
  readonly client: string;
  readonly arrivedAt: number;
  readonly deadline: number;
  readonly group: Group;
  readonly resolve: (outcome: HoldOutcome) => void;
  readonly gone: () => void;
  done: boolean;
  /** Its turn in a spread release (`performance.now()` time) while queued for one; otherwise undefined. */
  turn: number | undefined;
}

interface Group {
  readonly key: string;
  readonly watch: HoldWatch;
  readonly entries: Set<Entry>;
  unwatch: () => void;
  /** A check is running; `again` asks for one more after it (a signal came meanwhile). */
  checking: boolean;
  again: boolean;
}

/**
 * The most a spread release catches up at once, in milliseconds of turns: after the event loop stalled for longer (a
 * busy app, a long GC), the turns missed are pushed back by the rest instead of all let through in one burst.
 */
const CATCH_UP_MS = 10;

/** Builds the holder of one `maintenance()` configuration. */
export function createHolder(settings: HoldSettings): Holder {
  return new Holding(settings);
}

/** The holder: its groups, its count per client, its one timer, and its release queue with the queue's one timer. */
class Holding implements Holder {
  private readonly groups = new Map<string, Group>();
  private readonly perClient = new Map<string, number>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Requests released but not yet let through, by turn (`queue[head]` is next); done ones are skipped. */
  private queue: Entry[] = [];
  private head = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  /** How far the queue's turns were pushed back after stalls (see {@link CATCH_UP_MS}); 0 once the queue empties. */
  private lag = 0;

  constructor(private readonly settings: HoldSettings) {}

  get held(): number {
    return this.count;
  }

  hold(ctx: ParameterizedContext, client: string, arrivedAt: number, watch: HoldWatch): Promise<HoldOutcome> {
    const now = performance.now();
    const deadline = arrivedAt + this.settings.maxMs;
    const busy =
      this.count >= this.settings.maxHeld || (this.perClient.get(client) ?? 0) >= this.settings.maxHeldPerClient;
    if (busy || watch.closed() || now >= deadline) return Promise.resolve('answer');
    if (ctx.req.socket?.destroyed) return Promise.resolve('gone');
    return new Promise<HoldOutcome>((resolve) => {
      const group = this.groupOf(watch);
      const entry: Entry = {
        ctx,
        client,
        arrivedAt,
        deadline,
        group,
        resolve,
        gone: () => this.finish(entry, 'gone'),
        done: false,
        turn: undefined,
      };
      this.count++;
      this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
      group.entries.add(entry);
      ctx.res.once('close', entry.gone);
      this.schedule(now, Math.min(deadline, now + this.settings.pollMs));
    });
  }

  private finish(entry: Entry, outcome: HoldOutcome): void {
    if (entry.done) return;
    entry.done = true;
    this.count--;
    const n = (this.perClient.get(entry.client) ?? 1) - 1;
    if (n === 0) this.perClient.delete(entry.client);
    else this.perClient.set(entry.client, n);
    const { group } = entry;
    group.entries.delete(entry);
    if (group.entries.size === 0) {
      group.unwatch();
      this.groups.delete(group.key);
    }
    entry.ctx.res.off('close', entry.gone);
    entry.resolve(outcome);
    if (this.count === 0) this.idle();
  }

  /** Nothing is held any more: no timer runs, and the queue is empty. */
  private idle(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.timer = undefined;
    this.drainTimer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.queue = [];
    this.head = 0;
    this.lag = 0;
  }

  private endAll(group: Group, outcome: HoldOutcome): void {
    for (const entry of [...group.entries]) this.finish(entry, outcome);
  }

  /** Asks the group's watch once whether its requests are still blocked; releases them all when not. */
  private check(group: Group): void {
    if (group.watch.closed()) {
      this.endAll(group, 'answer');
      return;
    }
    if (group.checking) {
      group.again = true;
      return;
    }
    group.checking = true;
    const settle = (blocked: boolean) => {
      group.checking = false;
      if (!blocked) this.release(group);
      else {
        this.holdBack(group);
        if (group.again && group.entries.size > 0) {
          group.again = false;
          this.check(group);
        }
      }
    };
    try {
      Promise.resolve(group.watch.stillBlocked()).then(settle, () => settle(true)); // a failure means "still blocked"
    } catch {
      settle(true);
    }
  }

  /**
   * Maintenance ended for the group: its requests go back to the app, all at once with `releaseSpreadMs` 0, otherwise
   * queued in arrival order with turns spread evenly over the span (the first at once). Requests queued already keep
   * their turns; those held since join as a release of their own, merged into the queue by turn.
   */
  private release(group: Group): void {
    const span = this.settings.releaseSpreadMs;
    if (span === 0) {
      this.endAll(group, 'release');
      return;
    }
    const batch = [...group.entries].filter((e) => e.turn === undefined).sort((a, b) => a.arrivedAt - b.arrivedAt);
    if (batch.length === 0) return;
    const now = performance.now();
    const step = span / batch.length;
    for (const [i, e] of batch.entries()) e.turn = now - this.lag + i * step; // stored without the queue's lag
    const waiting = this.queue.slice(this.head);
    this.queue = waiting.length === 0 ? batch : waiting.concat(batch).sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0));
    this.head = 0;
    this.drain();
  }

  /** Maintenance is on again for the group: its requests not yet let through wait again (out of the queue). */
  private holdBack(group: Group): void {
    let queued = false;
    for (const e of group.entries) {
      if (e.turn !== undefined) queued = true;
      e.turn = undefined;
    }
    if (!queued) return;
    this.queue = this.queue.slice(this.head).filter((e) => !e.done && e.turn !== undefined);
    this.head = 0;
  }

  /**
   * Lets through every queued request whose turn has come, then sets the queue's one timer for the next turn. Turns
   * missed by more than {@link CATCH_UP_MS} (the event loop stalled: a busy app) are pushed back rather than caught up
   * in one burst, so the release slows down while the app is busy.
   */
  private drain(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    const now = performance.now();
    let next = this.nextQueued();
    while (next !== undefined) {
      const at = (next.turn as number) + this.lag;
      if (at > now) break;
      if (now - at > CATCH_UP_MS) this.lag += now - at - CATCH_UP_MS;
      this.head++;
      next.turn = undefined;
      if (next.group.watch.closed()) this.finish(next, 'answer');
      else this.finish(next, next.ctx.req.socket?.destroyed ? 'gone' : 'release'); // left in this very turn: dropped
      next = this.nextQueued();
    }
    if (next === undefined) {
      this.queue = [];
      this.head = 0;
      this.lag = 0;
      return;
    }
    const wait = Math.ceil((next.turn as number) + this.lag - now);
    this.drainTimer = setTimeout(() => this.drain(), Math.max(1, wait));
  }

  /** The next request in the queue still waiting for its turn (skipping those done or held back). */
  private nextQueued(): Entry | undefined {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head];
      if (!e.done && e.turn !== undefined) return e;
      this.head++;
    }
    return undefined;
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const group of [...this.groups.values()]) {
      for (const entry of [...group.entries]) if (now >= entry.deadline) this.finish(entry, 'answer');
    }
    for (const group of [...this.groups.values()]) this.check(group);
    this.schedule(now);
  }

  /** One timer for the holder: at the next poll, or the earliest deadline when that comes first. */
  private schedule(now: number, deadline = Number.POSITIVE_INFINITY): void {
    if (this.count === 0) return;
    let next = Math.min(deadline, now + this.settings.pollMs);
    if (deadline === Number.POSITIVE_INFINITY) {
      for (const group of this.groups.values()) for (const e of group.entries) next = Math.min(next, e.deadline);
    }
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.tick(), Math.max(1, Math.ceil(next - now)));
  }

  private groupOf(watch: HoldWatch): Group {
    let group = this.groups.get(watch.key);
    if (!group) {
      const created: Group = {
        key: watch.key,
        watch,
        entries: new Set(),
        unwatch: () => undefined,
        checking: false,
        again: false,
      };
      created.unwatch = watch.watch(() => this.check(created));
      this.groups.set(watch.key, created);
      group = created;
    }
    return group;
  }
}
