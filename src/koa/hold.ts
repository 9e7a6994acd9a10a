/**
 * Hold and release: a request that would get the maintenance answer waits for maintenance to end, then goes on to
 * the app. Held requests are grouped by what they wait for (a service and a scope); each group listens once to the
 * service's change signal (a pushed change is seen at once) and one timer for the whole holder re-checks every group
 * once per `pollMs` (stores without push, windows that end by themselves) and answers requests past their deadline.
 * No timer or listener per request, and nothing blocks the event loop.
 */
import { performance } from 'node:perf_hooks';
import type { ParameterizedContext } from 'koa';
import { withGetters } from '../core/fast-object.js';

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
  readonly deadline: number;
  readonly group: Group;
  readonly resolve: (outcome: HoldOutcome) => void;
  readonly gone: () => void;
  done: boolean;
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

/** Builds the holder of one `maintenance()` configuration. */
export function createHolder(settings: HoldSettings): Holder {
  const groups = new Map<string, Group>();
  const perClient = new Map<string, number>();
  let held = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  function finish(entry: Entry, outcome: HoldOutcome): void {
    if (entry.done) return;
    entry.done = true;
    held--;
    const n = (perClient.get(entry.client) ?? 1) - 1;
    if (n === 0) perClient.delete(entry.client);
    else perClient.set(entry.client, n);
    const { group } = entry;
    group.entries.delete(entry);
    if (group.entries.size === 0) {
      group.unwatch();
      groups.delete(group.key);
    }
    entry.ctx.res.off('close', entry.gone);
    entry.resolve(outcome);
    if (held === 0 && timer) {
      clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
    }
  }

  const endAll = (group: Group, outcome: HoldOutcome) => {
    for (const entry of [...group.entries]) finish(entry, outcome);
  };

  /** Asks the group's watch once whether its requests are still blocked; releases them all when not. */
  function check(group: Group): void {
    if (group.watch.closed()) {
      endAll(group, 'answer');
      return;
    }
    if (group.checking) {
      group.again = true;
      return;
    }
    group.checking = true;
    const settle = (blocked: boolean) => {
      group.checking = false;
      if (!blocked) endAll(group, 'release');
      else if (group.again && group.entries.size > 0) {
        group.again = false;
        check(group);
      }
    };
    try {
      Promise.resolve(group.watch.stillBlocked()).then(settle, () => settle(true)); // a failure means "still blocked"
    } catch {
      settle(true);
    }
  }

  function tick(): void {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const group of [...groups.values()]) {
      for (const entry of [...group.entries]) if (now >= entry.deadline) finish(entry, 'answer');
    }
    for (const group of [...groups.values()]) check(group);
    schedule(now);
  }

  /** One timer for the holder: at the next poll, or the earliest deadline when that comes first. */
  function schedule(now: number, deadline = Number.POSITIVE_INFINITY): void {
    if (held === 0) return;
    let next = Math.min(deadline, now + settings.pollMs);
    if (deadline === Number.POSITIVE_INFINITY) {
      for (const group of groups.values()) for (const e of group.entries) next = Math.min(next, e.deadline);
    }
    if (timer && timerAt <= next) return;
    if (timer) clearTimeout(timer);
    timerAt = next;
    timer = setTimeout(tick, Math.max(1, Math.ceil(next - now)));
  }

  function groupOf(watch: HoldWatch): Group {
    let group = groups.get(watch.key);
    if (!group) {
      const created: Group = {
        key: watch.key,
        watch,
        entries: new Set(),
        unwatch: () => undefined,
        checking: false,
        again: false,
      };
      created.unwatch = watch.watch(() => check(created));
      groups.set(watch.key, created);
      group = created;
    }
    return group;
  }

  const holder: Omit<Holder, 'held'> = {
    hold(ctx, client, arrivedAt, watch) {
      const now = performance.now();
      const deadline = arrivedAt + settings.maxMs;
      const busy = held >= settings.maxHeld || (perClient.get(client) ?? 0) >= settings.maxHeldPerClient;
      if (busy || watch.closed() || now >= deadline) return Promise.resolve('answer');
      if (ctx.req.socket?.destroyed) return Promise.resolve('gone');
      return new Promise<HoldOutcome>((resolve) => {
        const group = groupOf(watch);
        const entry: Entry = { ctx, client, deadline, group, resolve, gone: () => finish(entry, 'gone'), done: false };
        held++;
        perClient.set(client, (perClient.get(client) ?? 0) + 1);
        group.entries.add(entry);
        ctx.res.once('close', entry.gone);
        schedule(now, Math.min(deadline, now + settings.pollMs));
      });
    },
  };
  return withGetters(holder, { held: () => held });
}
