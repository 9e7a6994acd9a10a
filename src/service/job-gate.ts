/**
 * Jobs that respect maintenance: `guard(fn)` runs `fn` only while maintenance (of its scope) is off, counting it as
 * the instance's in-flight work so a drain waits for it; `waitUntilOff()` waits for the end; `watchMaintenance()` tells
 * a consumer (a queue worker) each time maintenance starts or ends — by the store's push, and by a light tick for
 * windows that start or end by the clock. Every check reads through the service's cache policy.
 */
import { MaintenanceError } from '../core/errors.js';
import { checkScopeName } from '../core/scope.js';
import { blocksRequests, type MaintenanceState } from '../core/state.js';
import type { InFlight } from './fleet.js';

/** What the gate needs of a `MaintenanceService` (its methods; the service passes itself). */
export interface GateSource {
  getState(scope?: string): Promise<MaintenanceState>;
  watch(listener: () => void): () => void;
  readonly inFlight: InFlight;
  joinFleet(): void;
  readonly closed: boolean;
  /** Whether the last read of the state (or of `scope`'s) failed: what is in force is not what was read. */
  readFailing(scope?: string): boolean;
}

/** Options of `service.guard()`. */
export interface GuardOptions {
  /** Respect this scope's maintenance (and the whole site's). @default undefined (the whole site) */
  readonly scope?: string;
  /** Run even during maintenance (the job must run then, e.g. the migration itself). @default false */
  readonly runDuringMaintenance?: boolean;
}

/** What `service.guard()` did: ran `fn` (its value), or did not (the state that stopped it). */
export type GuardResult<T> =
  | { readonly ran: true; readonly value: T }
  | { readonly ran: false; readonly state: MaintenanceState };

/** Options of `service.waitUntilOff()`. */
export interface WaitUntilOffOptions {
  /** Wait for this scope's maintenance (and the whole site's) to end. @default undefined (the whole site) */
  readonly scope?: string;
  /** Stops waiting: rejects `ERR_MAINTENANCE_WAIT_ABORTED`. @default none */
  readonly signal?: AbortSignal;
  /** Gives up after this many milliseconds: rejects `ERR_MAINTENANCE_WAIT_TIMEOUT`. @default no limit */
  readonly timeoutMs?: number;
}

/** How often a watch looks again without a push (windows that start or end by the clock, stores without push). */
export const WATCH_TICK_MS = 250;

/** The state that blocks jobs of `scope` now (the whole site's first), or undefined when none does. */
export async function blockingState(
  source: GateSource,
  scope: string | undefined,
): Promise<MaintenanceState | undefined> {
  const now = new Date();
  const global = await source.getState();
  if (blocksRequests(global, now)) return global;
  if (scope === undefined) return undefined;
  const scoped = await source.getState(scope);
  return blocksRequests(scoped, now) ? scoped : undefined;
}

/** Runs `fn` unless maintenance blocks it; while it runs it counts as this instance's in-flight work. */
export async function guard<T>(
  source: GateSource,
  fn: () => T | Promise<T>,
  options: GuardOptions = {},
): Promise<GuardResult<T>> {
  if (typeof fn !== 'function') throw new TypeError(`guard(fn) takes a function; received ${typeof fn}.`);
  const scope = options.scope === undefined ? undefined : checkScopeName(options.scope);
  source.joinFleet(); // a process that runs guarded jobs is part of the fleet a drain waits for
  const blocking = options.runDuringMaintenance ? undefined : await blockingState(source, scope);
  if (blocking) return { ran: false, state: blocking };
  source.inFlight.enter(scope);
  try {
    return { ran: true, value: await fn() };
  } finally {
    source.inFlight.leave(scope);
  }
}

/**
 * Calls `onChange(blocked)` with whether maintenance blocks jobs of `scope`: once at the start, then at every change
 * (by push at once; by the clock within {@link WATCH_TICK_MS}). While the state cannot be read, "not blocked" is never
 * told (the fallback says nothing about maintenance): a paused worker stays paused until a read says off. Returns `stop()`.
 */
export function watchMaintenance(
  source: GateSource,
  scope: string | undefined,
  onChange: (blocked: boolean) => void,
): () => void {
  let last: boolean | undefined;
  let stopped = false;
  let checking = false;
  let again = false;
  const check = async () => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const blocked = (await blockingState(source, scope)) !== undefined;
        // Off from a fallback is no end of maintenance: a paused worker would run jobs during it after a store blip
        // (#30). Only a state read as off ends it.
        if (!blocked && source.readFailing(scope)) continue;
        if (!stopped && blocked !== last) {
          last = blocked;
          onChange(blocked);
        }
      } while (again && !stopped);
    } finally {
      checking = false;
    }
  };
  const unwatch = source.watch(() => void check());
  const tick = setInterval(() => void check(), WATCH_TICK_MS);
  tick.unref();
  void check();
  return () => {
    stopped = true;
    unwatch();
    clearInterval(tick);
  };
}

/** Resolves when maintenance (of `scope`, or the whole site) is off; rejects on abort or timeout. */
export function waitUntilOff(source: GateSource, options: WaitUntilOffOptions = {}): Promise<void> {
  const scope = options.scope === undefined ? undefined : checkScopeName(options.scope);
  const { signal, timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 0)) {
    throw new MaintenanceError(
      'ERR_MAINTENANCE_INVALID_OPTION',
      `timeoutMs must be a whole number of milliseconds; received ${JSON.stringify(timeoutMs)}.`,
    );
  }
  const what = scope === undefined ? 'maintenance' : `maintenance of scope ${JSON.stringify(scope)}`;
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let stop: () => void = () => undefined;
    const end = (err?: MaintenanceError) => {
      stop();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      if (err) reject(err);
      else resolve();
    };
    const aborted = () =>
      end(new MaintenanceError('ERR_MAINTENANCE_WAIT_ABORTED', `The wait for the end of ${what} was aborted.`));
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          end(
            new MaintenanceError(
              'ERR_MAINTENANCE_WAIT_TIMEOUT',
              `${what[0].toUpperCase()}${what.slice(1)} was still on after ${timeoutMs} ms (waitUntilOff timeoutMs).`,
            ),
          ),
        timeoutMs,
      );
    }
    stop = watchMaintenance(source, scope, (blocked) => {
      if (!blocked) end();
    });
  });
}
