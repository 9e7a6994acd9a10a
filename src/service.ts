/** `MaintenanceService`: the TypeDI service that reads and writes the state; the only file importing typedi. */
import 'reflect-metadata';
import { Container, Service } from 'typedi';
import { MaintenanceError } from './errors.js';
import { createFileKeyv, type KeyvLike } from './keyv.js';
import { createRedisStore, STORE_DESCRIPTION } from './redis-store.js';
import {
  type MaintenanceServiceConfig,
  type MaintenanceServiceOptions,
  resolveServiceOptions,
} from './service-options.js';
import {
  type DisableOptions,
  disabledState,
  type EnableOptions,
  enabledState,
  isActive,
  type MaintenanceState,
  normalizeState,
  OFF_STATE,
} from './state.js';
import { createStateStore, type StateStore } from './store.js';

/**
 * Reads and writes the maintenance state through keyv (the embedded file store by default).
 * `Container.get(MaintenanceService)` works with no setup; `Container.set(MaintenanceService, new MaintenanceService({ store }))`
 * configures the one the middleware and helpers use.
 * @example
 * const service = new MaintenanceService({ store: new Keyv() });
 * await service.enable({ message: 'Back at 3am', end: '2026-12-01T03:00:00Z', by: 'ops' });
 */
@Service()
export class MaintenanceService {
  /** The resolved options. */
  readonly config: MaintenanceServiceConfig;
  private readonly store: StateStore;
  private readonly keyv: KeyvLike;
  private lastKnown: MaintenanceState = OFF_STATE;

  constructor(options?: MaintenanceServiceOptions) {
    this.config = resolveServiceOptions(options, process.env, process.cwd(), console);
    const { store, redisUrl, stateFilePath } = this.config;
    const keyv: KeyvLike = store ?? (redisUrl ? createRedisStore(redisUrl) : createFileKeyv(stateFilePath as string));
    this.keyv = keyv;
    if (keyv.throwOnErrors === false) {
      // keyv's default swallows store errors and returns undefined, which would read as "maintenance off".
      keyv.throwOnErrors = true;
    }
    this.store = createStateStore({
      keyv,
      description: stateFilePath
        ? `the state file ${stateFilePath}`
        : ((keyv as { [STORE_DESCRIPTION]?: string })[STORE_DESCRIPTION] ?? 'the keyv store'),
      timeoutMs: this.config.storeTimeoutMs,
      fallbackValue: this.config.fallbackValue,
      logger: this.config.logger,
    });
    if (this.config.mode !== undefined) this.lastKnown = { enabled: this.config.mode };
  }

  /**
   * The state in force: the forced `mode` if set, else the stored state; `{ enabled: fallbackValue }` when the
   * store fails, times out or is corrupt (never throws).
   */
  async getState(): Promise<MaintenanceState> {
    if (this.config.mode !== undefined) return this.lastKnown;
    const { state } = await this.store.read();
    this.lastKnown = state;
    return state;
  }

  /**
   * The stored state, for callers that must not act on a fallback (toggle routes, CLI): like
   * {@link MaintenanceService.getState} but a failing, timing-out or corrupt store throws `MaintenanceError`.
   */
  async getStoredState(): Promise<MaintenanceState> {
    if (this.config.mode !== undefined) return this.lastKnown;
    const { state, ok, error } = await this.store.read();
    if (!ok) throw error;
    this.lastKnown = state;
    return state;
  }

  /** Whether maintenance is active now (forced `mode`, stored state and its `[start, end)` window). */
  async isEnabled(): Promise<boolean> {
    return isActive(await this.getState(), new Date());
  }

  /** The last state this service read or wrote, synchronously (no I/O); off until the first read. */
  lastKnownState(): MaintenanceState {
    return this.lastKnown;
  }

  /**
   * Switches maintenance on, now or for the window `[start, end)`. Throws `MaintenanceError` for an invalid
   * schedule, when `mode` forces the state, or when the store cannot be written (the state is then unchanged).
   */
  async enable(opts: EnableOptions = {}): Promise<void> {
    await this.write(enabledState(opts, new Date()));
  }

  /** Switches maintenance off. Throws like {@link MaintenanceService.enable}. */
  async disable(opts: DisableOptions = {}): Promise<void> {
    await this.write(disabledState(opts, new Date()));
  }

  /**
   * Writes back a state read earlier (e.g. the one before a `withMaintenanceOn` scope), exactly as it was,
   * including its schedule, message and author. Throws like {@link MaintenanceService.enable}.
   */
  async restore(state: MaintenanceState): Promise<void> {
    await this.write(normalizeState(state));
  }

  /** Human description of the store, as used in messages: the file path or the Redis URL (password hidden). */
  get storeDescription(): string {
    return this.store.description;
  }

  /** Closes the store's connections (Redis); the file store has none. Safe to call twice. */
  async close(): Promise<void> {
    try {
      await this.keyv.disconnect?.();
    } catch {
      // already closed, or never connected
    }
  }

  private async write(state: MaintenanceState): Promise<void> {
    if (this.config.mode !== undefined) {
      throw new MaintenanceError(
        'ERR_MAINTENANCE_MODE_FORCED',
        `The state is forced by the mode option (mode: ${this.config.mode}); remove mode to switch maintenance with enable()/disable().`,
      );
    }
    await this.store.write(state);
    this.lastKnown = state;
  }
}

/** Registers `cls` with TypeDI (for classes built at run time, such as the maintenance controller). */
export function registerService(cls: new () => object): void {
  (Service() as (target: object) => void)(cls);
}

/** The service the middleware and helpers use by default: `Container.get(MaintenanceService)`. */
export function defaultService(): MaintenanceService {
  return Container.get(MaintenanceService);
}

/** Whether maintenance is active, per the container's service. */
export function getMaintenanceMode(): Promise<boolean> {
  return defaultService().isEnabled();
}

/** Switches maintenance on (`true`) or off (`false`) through the container's service. */
export async function setMaintenanceMode(value: boolean): Promise<void> {
  if (typeof value !== 'boolean') {
    throw new TypeError(`setMaintenanceMode(value) takes true or false; received ${JSON.stringify(value)}.`);
  }
  const service = defaultService();
  await (value ? service.enable() : service.disable());
}
