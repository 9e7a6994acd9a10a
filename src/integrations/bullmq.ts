/**
 * BullMQ workers that respect maintenance (BullMQ is an optional peer: nothing here loads it; any object with a
 * Worker's `pause()`, `resume()`, `isPaused()` and events fits). While maintenance is on the worker finishes its active
 * jobs and takes no new one; when it ends the worker takes jobs again. Its active jobs count as the instance's
 * in-flight work, so `waitForFleet({ drained })` and `maintenance-mode run` wait for them.
 */
import { checkScopeName } from '../core/scope.js';
import { watchMaintenance } from '../service/job-gate.js';
import { defaultService, type MaintenanceService } from '../service/service.js';

/** The part of a BullMQ `Worker` this uses. */
export interface PausableWorker {
  /** BullMQ: stops taking jobs; resolves once the active ones finished (`doNotWaitActive` false). */
  pause(doNotWaitActive?: boolean): Promise<void>;
  /** BullMQ: takes jobs again. */
  resume(): void;
  /** BullMQ: whether it is paused (by anyone). */
  isPaused(): boolean;
  /** BullMQ's events: `active`, `completed` and `failed` (a job) are followed. */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Stops following an event. */
  off(event: string, listener: (...args: never[]) => void): unknown;
}

/** Options of {@link pauseWorkerDuringMaintenance}. */
export interface PauseWorkerOptions {
  /** The service whose state the worker follows. @default Container.get(MaintenanceService) */
  readonly service?: MaintenanceService;
  /** Pause for this scope's maintenance too (the whole site's always pauses it). @default undefined (the whole site) */
  readonly scope?: string;
}

/**
 * Pauses `worker` while maintenance is on and resumes it when it ends (a worker paused by someone else is left
 * alone). Returns `stop()`: it stops following the state, a pause or resume still queued included (a worker it paused
 * stays paused until you resume or close it), so `stop()` then `worker.close()` never meets a late `resume()`.
 * @example const stop = pauseWorkerDuringMaintenance(new Worker('mail', sendMail, { connection }));
 */
export function pauseWorkerDuringMaintenance(worker: PausableWorker, options: PauseWorkerOptions = {}): () => void {
  if (typeof worker?.pause !== 'function' || typeof worker.resume !== 'function' || typeof worker.on !== 'function') {
    throw new TypeError('pauseWorkerDuringMaintenance(worker) takes a BullMQ Worker (pause, resume, isPaused, on).');
  }
  const service = options.service ?? defaultService();
  const scope = options.scope === undefined ? undefined : checkScopeName(options.scope);
  service.joinFleet();
  const active = new Set<string>();
  const started = (job: { id?: string }) => {
    const id = String(job?.id);
    if (active.has(id)) return;
    active.add(id);
    service.inFlight.enter(scope);
  };
  const ended = (job: { id?: string }) => {
    if (active.delete(String(job?.id))) service.inFlight.leave(scope);
  };
  worker.on('active', started);
  worker.on('completed', ended);
  worker.on('failed', ended);
  let pausedByUs = false;
  let stopped = false;
  let queue = Promise.resolve();
  const follow = (blocked: boolean) => {
    queue = queue
      .then(async () => {
        if (stopped) return; // a pause or resume still queued when stop() ran: the worker may be closed by now
        if (blocked && !worker.isPaused()) {
          pausedByUs = true;
          await worker.pause(); // finishes the active jobs, takes no new one
        } else if (!blocked && pausedByUs) {
          pausedByUs = false;
          worker.resume();
        }
      })
      .catch((err: Error) =>
        service.config.logger.warn(`koa-maintenance-mode: could not pause or resume the worker: ${err.message}`),
      );
  };
  const unwatch = watchMaintenance(service, scope, follow);
  return () => {
    stopped = true;
    unwatch();
    worker.off('active', started);
    worker.off('completed', ended);
    worker.off('failed', ended);
    for (const _ of active) service.inFlight.leave(scope);
    active.clear();
  };
}
