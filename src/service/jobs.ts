/**
 * `withMaintenanceOn/Off(fn)`: switch the shared state for the duration of a job, then put back the state from
 * before the outermost scope. Scopes of one process on one service are reference-counted, so nested and
 * overlapping scopes compose; a change made meanwhile by someone else (CLI, toggle route, another instance) wins.
 */

import { isActive, type MaintenanceState } from '../core/state.js';
import { defaultService, type MaintenanceService } from './service.js';
import { sameState } from './state-cache.js';

/** Options of the scope helpers. */
export interface MaintenanceScopeOptions {
  /** The service whose state is switched. @default Container.get(MaintenanceService) */
  readonly service?: MaintenanceService;
  /** Recorded as `updatedBy`. @default 'withMaintenanceOn' / 'withMaintenanceOff' */
  readonly by?: string;
}

interface Scopes {
  /** State before the outermost scope. */
  readonly original: MaintenanceState;
  /** Open scopes, oldest first; the newest decides the state. */
  readonly open: Array<{ readonly id: number; readonly target: boolean }>;
  /** What the scopes last wrote (undefined: nothing written yet). */
  written?: MaintenanceState;
  /** Someone else changed the state: stop managing it. */
  abandoned: boolean;
}

const registry = new WeakMap<MaintenanceService, Scopes>();
const queues = new WeakMap<MaintenanceService, Promise<unknown>>();
let nextId = 1;

/** Runs `task` after the previous scope operation on the same service (reads and writes never interleave). */
function serial<T>(service: MaintenanceService, task: () => Promise<T>): Promise<T> {
  const run = (queues.get(service) ?? Promise.resolve()).then(task, task);
  queues.set(
    service,
    run.catch(() => undefined),
  );
  return run;
}

async function write(service: MaintenanceService, scopes: Scopes, target: boolean, by: string): Promise<void> {
  const current = scopes.written ?? scopes.original;
  if (isActive(current, new Date()) === target && (target || !current.enabled)) return;
  await (target ? service.enable({ by, source: 'scope' }) : service.disable({ by, source: 'scope' }));
  scopes.written = service.lastKnownState();
}

/** Whether the stored state is still what the scopes wrote; warns and gives up management if not. */
async function stillOurs(service: MaintenanceService, scopes: Scopes): Promise<boolean> {
  if (scopes.abandoned) return false;
  if (scopes.written === undefined) return true;
  const stored = await service.getStoredState();
  if (sameState(stored, scopes.written)) return true;
  scopes.abandoned = true;
  service.config.logger.warn(
    `koa-maintenance-mode: the maintenance state was changed outside withMaintenanceOn/Off (now ${JSON.stringify(stored)}); ` +
      'leaving it as it is instead of restoring the state from before the scope.',
  );
  return false;
}

async function enter(service: MaintenanceService, id: number, target: boolean, by: string): Promise<void> {
  let scopes = registry.get(service);
  if (!scopes) {
    scopes = { original: await service.getStoredState(), open: [], abandoned: false };
    registry.set(service, scopes);
  }
  scopes.open.push({ id, target });
  try {
    if (await stillOurs(service, scopes)) await write(service, scopes, target, by);
  } catch (err) {
    await leave(service, id, by).catch(() => undefined);
    throw err;
  }
}

async function leave(service: MaintenanceService, id: number, by: string): Promise<void> {
  const scopes = registry.get(service);
  if (!scopes) return;
  const at = scopes.open.findIndex((s) => s.id === id);
  if (at !== -1) scopes.open.splice(at, 1);
  if (scopes.open.length > 0) {
    if (await stillOurs(service, scopes)) await write(service, scopes, scopes.open[scopes.open.length - 1].target, by);
    return;
  }
  registry.delete(service);
  if (scopes.written !== undefined && (await stillOurs(service, scopes)))
    await service.restore(scopes.original, { by });
}

async function withMaintenance<T>(
  target: boolean,
  fn: () => Promise<T> | T,
  opts: MaintenanceScopeOptions,
): Promise<T> {
  if (typeof fn !== 'function') {
    throw new TypeError(`withMaintenance${target ? 'On' : 'Off'}(fn) takes a function; received ${typeof fn}.`);
  }
  const service = opts.service ?? defaultService();
  const by = opts.by ?? (target ? 'withMaintenanceOn' : 'withMaintenanceOff');
  const id = nextId++;
  await serial(service, () => enter(service, id, target, by));
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await serial(service, () => leave(service, id, by)).catch((restoreErr: Error) =>
      service.config.logger.warn(
        `koa-maintenance-mode: could not restore the maintenance state: ${restoreErr.message}`,
      ),
    );
    throw err;
  }
  await serial(service, () => leave(service, id, by));
  return result;
}

/**
 * Switches maintenance on (for every instance sharing the store) while `fn` runs, then restores the state from
 * before the outermost scope, also when `fn` throws. Returns `fn`'s result.
 * @example await withMaintenanceOn(() => runMigrations());
 */
export function withMaintenanceOn<T>(fn: () => Promise<T> | T, opts: MaintenanceScopeOptions = {}): Promise<T> {
  return withMaintenance(true, fn, opts);
}

/** Switches maintenance off while `fn` runs; the counterpart of {@link withMaintenanceOn}. */
export function withMaintenanceOff<T>(fn: () => Promise<T> | T, opts: MaintenanceScopeOptions = {}): Promise<T> {
  return withMaintenance(false, fn, opts);
}
