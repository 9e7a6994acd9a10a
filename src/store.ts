/**
 * Store calls through keyv: every call is bounded by `timeoutMs` and every failure becomes a `MaintenanceError`.
 * A read reports failure in its result (the state cache decides what it means); a write that fails throws,
 * because a lost toggle must never look like a successful one.
 */
import { MaintenanceError } from './errors.js';
import { STATE_KEY } from './file-store.js';
import type { KeyvLike } from './keyv.js';
import { type MaintenanceState, normalizeState } from './state.js';

/** Where warnings go. `console` fits; so do pino and winston loggers. */
export interface MaintenanceLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Result of a read: the stored state, or why there is none. */
export type ReadResult =
  | { readonly ok: true; readonly state: MaintenanceState }
  | { readonly ok: false; readonly error: MaintenanceError };

/** Reads and writes the state through a keyv instance. */
export interface StateStore {
  read(): Promise<ReadResult>;
  write(state: MaintenanceState): Promise<void>;
  /** Reads another key (the history); failures throw `MaintenanceError`. */
  readKey(key: string): Promise<unknown>;
  /** Writes another key; failures throw `MaintenanceError`. */
  writeKey(key: string, value: unknown): Promise<void>;
  /** Human description used in messages (file path or "keyv store"). */
  readonly description: string;
}

/** Settings of {@link createStateStore}. */
export interface StateStoreSettings {
  readonly keyv: KeyvLike;
  readonly description: string;
  readonly timeoutMs: number;
}

/** Races `promise` against a timer that does not keep the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new MaintenanceError(
            'ERR_MAINTENANCE_STORE_TIMEOUT',
            `${what} took longer than storeTimeoutMs (${ms} ms). Check that the store is reachable, or raise storeTimeoutMs.`,
          ),
        ),
      ms,
    );
    timer.unref();
  });
  promise.catch(() => undefined); // a late failure after the timeout must not become an unhandled rejection
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function asMaintenanceError(
  err: unknown,
  code: 'ERR_MAINTENANCE_STORE_READ' | 'ERR_MAINTENANCE_STORE_WRITE',
  what: string,
) {
  if (err instanceof MaintenanceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new MaintenanceError(code, `${what} failed: ${detail}`, { cause: err });
}

/** Builds the {@link StateStore} for one service. */
export function createStateStore(s: StateStoreSettings): StateStore {
  return {
    description: s.description,
    async read() {
      try {
        const value = await withTimeout(
          Promise.resolve(s.keyv.get(STATE_KEY)),
          s.timeoutMs,
          `Reading ${s.description}`,
        );
        return { ok: true, state: normalizeState(value) };
      } catch (err) {
        return { ok: false, error: asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', `Reading ${s.description}`) };
      }
    },
    async readKey(key) {
      try {
        return await withTimeout(Promise.resolve(s.keyv.get(key)), s.timeoutMs, `Reading ${key} from ${s.description}`);
      } catch (err) {
        throw asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_READ', `Reading ${key} from ${s.description}`);
      }
    },
    async writeKey(key, value) {
      try {
        await withTimeout(Promise.resolve(s.keyv.set(key, value)), s.timeoutMs, `Writing ${key} to ${s.description}`);
      } catch (err) {
        throw asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_WRITE', `Writing ${key} to ${s.description}`);
      }
    },
    async write(state) {
      let result: unknown;
      try {
        result = await withTimeout(
          Promise.resolve(s.keyv.set(STATE_KEY, state)),
          s.timeoutMs,
          `Writing ${s.description}`,
        );
      } catch (err) {
        throw asMaintenanceError(err, 'ERR_MAINTENANCE_STORE_WRITE', `Writing ${s.description}`);
      }
      if (result === false) {
        throw new MaintenanceError(
          'ERR_MAINTENANCE_STORE_WRITE',
          `Writing ${s.description} failed: the store reported the write as not done. The state is unchanged.`,
        );
      }
    },
  };
}
