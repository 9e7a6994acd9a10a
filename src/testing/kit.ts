/**
 * What a contract scenario works with: services on the store under test (closed after it), loggers that record,
 * waits, a tag of its own, and the fault controls (undone after it, should it fail midway).
 */
import { randomBytes } from 'node:crypto';
import type { KeyvLike } from '../core/keyv-like.js';
import { MaintenanceService } from '../service/service.js';
import type { MaintenanceServiceOptions } from '../service/service-options.js';
import { fromKeyv } from '../store/keyv/from-keyv.js';
import { isMaintenanceStore, type MaintenanceStore } from '../store/maintenance-store.js';
import type { MaintenanceLogger } from '../store/state-store.js';
import type { MaintenanceStoreFactory } from './factory.js';

/**
 * How long a scenario waits for something that takes milliseconds on an idle machine (a push, a heartbeat, a server
 * that comes back) before it says it never came: generous, so that a busy machine does not fail it.
 */
export const PATIENCE_MS = 20_000;

/**
 * The longest a call bounded by `storeTimeoutMs` (a few hundred milliseconds in the failure scenarios) may take while
 * the store fails: the bound and seconds of slack for a loaded machine, far less than a hang.
 */
export const BOUND_MS = 10_000;

/** A logger that keeps what it is told. */
export interface CapturedLogger extends MaintenanceLogger {
  readonly warnings: string[];
  readonly infos: string[];
}

/** Options of a scenario's service: those of `MaintenanceService`, the store excepted (the factory opens it). */
export type ContractServiceOptions = Omit<MaintenanceServiceOptions, 'store' | 'redisUrl' | 'postgresUrl'>;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (polling every 5 ms); throws naming `what` after `limitMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  limitMs = PATIENCE_MS,
): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(5);
  }
  return performance.now() - t0;
}

/** Resolves with what `op` resolved with, or with the error it threw (never throws), and how long it took. */
export async function outcome<T>(op: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await op();
    return { value, ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

/** A new logger that records. */
export function captureLogger(): CapturedLogger {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (m: string) => void warnings.push(m), info: (m: string) => void infos.push(m) };
}

/** The kit of one scenario. */
export interface ContractKit {
  /** Unique to this scenario: the names, scopes and labels it writes, so scenarios share a store without meeting. */
  readonly tag: string;
  /**
   * A service on a new handle of the store (closed after the scenario). Defaults: `cacheTtlMs` 0 (every call reads),
   * `storeTimeoutMs` 5000 (the store's speed is not under test), a recording logger.
   */
  service(options?: ContractServiceOptions): Promise<MaintenanceService>;
  /** A new handle of the store itself, for what no service call can order (closed after the scenario). */
  store(): Promise<MaintenanceStore>;
  /** Stalls the server (undone after the scenario should it fail before its own `resume()`). */
  stall(): Promise<void>;
  resume(): Promise<void>;
  /** Kills the server (restarted after the scenario should it fail before its own `restart()`). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  corrupt(): Promise<string>;
  forgePresence(id: string, text: string): Promise<void>;
}

/** A kit with what must be undone after its scenario. */
export interface KitLifecycle {
  readonly kit: ContractKit;
  /** Brings a stalled or killed server back, then closes the scenario's services (each bounded). */
  cleanUp(): Promise<void>;
}

/** Calls the fault control `name` of `factory` (the scenario runs only when the factory gives it). */
async function fault(factory: MaintenanceStoreFactory, name: 'stall' | 'resume' | 'kill' | 'restart') {
  await factory.faults?.[name]?.();
}

/** Makes the kit of one scenario on `factory`'s store. */
export function createKit(factory: MaintenanceStoreFactory): KitLifecycle {
  const services: MaintenanceService[] = [];
  const stores: MaintenanceStore[] = [];
  let down: 'stalled' | 'killed' | undefined;
  const kit: ContractKit = {
    tag: `c${Date.now().toString(36)}${randomBytes(3).toString('hex')}`,
    async service(options = {}) {
      const store = await factory.create();
      const s = new MaintenanceService({
        logger: captureLogger(),
        storeTimeoutMs: 5000,
        cacheTtlMs: 0,
        ...options,
        store,
      });
      services.push(s);
      return s;
    },
    async store() {
      const opened = await factory.create();
      const store = isMaintenanceStore(opened) ? opened : fromKeyv(opened as KeyvLike);
      stores.push(store);
      return store;
    },
    stall: async () => {
      down = 'stalled';
      await fault(factory, 'stall');
    },
    resume: async () => {
      await fault(factory, 'resume');
      down = undefined;
    },
    kill: async () => {
      down = 'killed';
      await fault(factory, 'kill');
    },
    restart: async () => {
      await fault(factory, 'restart');
      down = undefined;
    },
    corrupt: async () => String(await factory.faults?.corrupt?.()),
    forgePresence: async (id, text) => void (await factory.faults?.forgePresence?.(id, text)),
  };
  const cleanUp = async () => {
    if (down === 'stalled') await kit.resume();
    if (down === 'killed') await kit.restart();
    await Promise.all(services.splice(0).map((s) => s.close({ timeoutMs: 2000 }).catch(() => undefined)));
    await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
  };
  return { kit, cleanUp };
}

/**
 * Waits until a change by `writer` reaches every one of `readers` by push: their subscription is up, which takes a
 * moment after their first read. Switches the whole site off (by `warm-up N`), or `scope` on (message `warm-up N`),
 * until one such switch arrives everywhere within 200 ms.
 */
export async function pushesReach(
  writer: MaintenanceService,
  readers: readonly MaintenanceService[],
  scope?: string,
): Promise<void> {
  const t0 = performance.now();
  for (let k = 0; ; k++) {
    const mark = `warm-up ${k}`;
    if (scope === undefined) await writer.disable({ by: mark });
    else await writer.enable({ scope, message: mark });
    const seen = (r: MaintenanceService) => {
      const state = r.lastKnownState(scope);
      return scope === undefined ? state.updatedBy === mark : state.message === mark;
    };
    const pushed = await until('a warm-up switch pushed', () => readers.every(seen), 200).then(
      () => true,
      () => false,
    );
    if (pushed) return;
    if (performance.now() - t0 > PATIENCE_MS) throw new Error(`no change was pushed within ${PATIENCE_MS} ms`);
  }
}
