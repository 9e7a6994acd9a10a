/**
 * `withMaintenanceOn/Off(fn)`: switch the shared state (global, or one scope's) for the duration of a job, then put
 * back the state from before the outermost job. Jobs of one process on one service and scope are reference-counted,
 * so nested and overlapping jobs compose; a change made meanwhile by someone else (CLI, toggle route, another
 * instance) wins.
 */
import { checkScopeName } from '../core/scope.js';
import { isActive, type MaintenanceState } from '../core/state.js';
import { defaultService, type MaintenanceService } from './service.js';
import { sameState } from './state-cache.js';

/** Options of the job helpers. */
export interface MaintenanceScopeOptions {
  /** The service whose state is switched. @default Container.get(MaintenanceService) */
  readonly service?: MaintenanceService;
  /** Recorded as `updatedBy`. @default 'withMaintenanceOn' / 'withMaintenanceOff' */
  readonly by?: string;
  /** Switch this scope (a part of the site or a tenant) instead of the whole site. @default undefined (global) */
  readonly scope?: string;
}

/** The open jobs of one service and scope. */
interface Jobs {
  readonly scope: string | undefined;
  /** State before the outermost job. */
  readonly original: MaintenanceState;
  /** Open jobs, oldest first; the newest decides the state. */
  readonly open: Array<{ readonly id: number; readonly target: boolean }>;
  /** What the jobs last wrote (undefined: nothing written yet). */
  written?: MaintenanceState;
  /** Someone else changed the state: stop managing it. */
  abandoned: boolean;
}

/** Open jobs per service, by scope ('' for the global state). */
const registry = new WeakMap<MaintenanceService, Map<string, Jobs>>();
const queues = new WeakMap<MaintenanceService, Promise<unknown>>();
let nextId = 1;

const keyOf = (scope: string | undefined) => scope ?? '';

/** Runs `task` after the previous job operation on the same service (reads and writes never interleave). */
function serial<T>(service: MaintenanceService, task: () => Promise<T>): Promise<T> {
  const run = (queues.get(service) ?? Promise.resolve()).then(task, task);
  queues.set(
    service,
    run.catch(() => undefined),
  );
  return run;
}

async function write(service: MaintenanceService, jobs: Jobs, target: boolean, by: string): Promise<void> {
  const current = jobs.written ?? jobs.original;
  if (isActive(current, new Date()) === target && (target || !current.enabled)) return;
  const opts = { by, source: 'job', scope: jobs.scope };
  await (target ? service.enable(opts) : service.disable(opts));
  jobs.written = await service.stateAfterWrite(jobs.scope);
}

/** Whether the stored state is still what the jobs wrote; warns and gives up management if not. */
async function stillOurs(service: MaintenanceService, jobs: Jobs): Promise<boolean> {
  if (jobs.abandoned) return false;
  if (jobs.written === undefined) return true;
  const stored = await service.getStoredState(jobs.scope);
  if (sameState(stored, jobs.written)) return true;
  jobs.abandoned = true;
  const what = jobs.scope === undefined ? 'the maintenance state' : `the maintenance state of scope ${jobs.scope}`;
  service.config.logger.warn(
    `koa-maintenance-mode: ${what} was changed outside withMaintenanceOn/Off (now ${JSON.stringify(stored)}); ` +
      'leaving it as it is instead of restoring the state from before the job.',
  );
  return false;
}

/** One job: which state it switches to, for which scope, and who it says switched. */
interface Job {
  readonly id: number;
  readonly scope: string | undefined;
  readonly target: boolean;
  readonly by: string;
}

async function enter(service: MaintenanceService, job: Job): Promise<void> {
  const { scope, id, target, by } = job;
  const all = registry.get(service) ?? new Map<string, Jobs>();
  registry.set(service, all);
  let jobs = all.get(keyOf(scope));
  if (!jobs) {
    jobs = { scope, original: await service.getStoredState(scope), open: [], abandoned: false };
    all.set(keyOf(scope), jobs);
  }
  jobs.open.push({ id, target });
  try {
    if (await stillOurs(service, jobs)) await write(service, jobs, target, by);
  } catch (err) {
    await leave(service, job).catch(() => undefined);
    throw err;
  }
}

async function leave(service: MaintenanceService, job: Job): Promise<void> {
  const { scope, id, by } = job;
  const all = registry.get(service);
  const jobs = all?.get(keyOf(scope));
  if (!all || !jobs) return;
  const at = jobs.open.findIndex((s) => s.id === id);
  if (at !== -1) jobs.open.splice(at, 1);
  if (jobs.open.length > 0) {
    if (await stillOurs(service, jobs)) await write(service, jobs, jobs.open[jobs.open.length - 1].target, by);
    return;
  }
  all.delete(keyOf(scope));
  if (jobs.written !== undefined && (await stillOurs(service, jobs))) {
    await service.restore(jobs.original, { by, source: 'job', scope });
  }
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
  const scope = opts.scope;
  if (scope !== undefined) checkScopeName(scope); // an invalid scope name throws before fn runs
  const job: Job = { id: nextId++, scope, target, by };
  await serial(service, () => enter(service, job));
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await serial(service, () => leave(service, job)).catch((restoreErr: Error) =>
      service.config.logger.warn(
        `koa-maintenance-mode: could not restore the maintenance state: ${restoreErr.message}`,
      ),
    );
    throw err;
  }
  await serial(service, () => leave(service, job));
  return result;
}

/**
 * Switches maintenance on (for every instance sharing the store) while `fn` runs, then restores the state from
 * before the outermost job, also when `fn` throws. Returns `fn`'s result. With `scope`, only that scope is switched.
 * @example await withMaintenanceOn(() => runMigrations());
 * @example await withMaintenanceOn(() => migrateTenant(42), { scope: 'tenant:42' });
 */
export function withMaintenanceOn<T>(fn: () => Promise<T> | T, opts: MaintenanceScopeOptions = {}): Promise<T> {
  return withMaintenance(true, fn, opts);
}

/** Switches maintenance off while `fn` runs; the counterpart of {@link withMaintenanceOn}. */
export function withMaintenanceOff<T>(fn: () => Promise<T> | T, opts: MaintenanceScopeOptions = {}): Promise<T> {
  return withMaintenance(false, fn, opts);
}
