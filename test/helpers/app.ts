import Keyv from 'keyv';
import Koa from 'koa';
import supertest from 'supertest';
import {
  createRedisStore,
  type MaintenanceOptions,
  MaintenanceService,
  type MaintenanceServiceOptions,
  maintenance,
} from '../../src/index.js';

/** A logger that records what it is told. */
export function captureLogger() {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (m: string) => warnings.push(m), info: (m: string) => infos.push(m) };
}

/** A keyv (in memory) that counts reads. */
export function countingKeyv() {
  const keyv = new Keyv();
  const counter = { reads: 0, keyv };
  const get = keyv.get.bind(keyv) as (key: string) => Promise<unknown>;
  (keyv as unknown as { get: (key: string) => Promise<unknown> }).get = (key: string) => {
    counter.reads++;
    return get(key);
  };
  return counter;
}

/** A service over an in-memory keyv, with a silent logger unless one is given. */
export function memoryService(options: MaintenanceServiceOptions = {}): MaintenanceService {
  return new MaintenanceService({ store: new Keyv(), logger: captureLogger(), ...options });
}

/** The contract suite's wait for a push to reach every reader (one copy, in src/testing/kit.ts). */
export { pushesReach } from '../../src/testing/kit.js';

/** A service on the Redis at `url` (its own connection), with a silent logger unless one is given. */
export function redisService(url: string, options: MaintenanceServiceOptions = {}): MaintenanceService {
  return new MaintenanceService({ store: createRedisStore(url), logger: captureLogger(), ...options });
}

/** Koa app: `maintenance(options)` in front of a handler that echoes what the middleware left in ctx.state. */
export function createTestApp(options: MaintenanceOptions = {}, before?: (app: Koa) => void) {
  const service = options.service ?? memoryService();
  const app = new Koa();
  app.silent = true;
  const errors: Error[] = [];
  app.on('error', (err: Error) => errors.push(err));
  before?.(app);
  app.use(maintenance({ ...options, service }));
  app.use((ctx) => {
    ctx.body = {
      ok: true,
      path: ctx.path,
      maintenanceMode: ctx.state.maintenanceMode,
      decision: ctx.state.maintenanceDecision,
    };
  });
  return { app, service, errors, request: () => supertest(app.callback()) };
}

/** An ISO instant `seconds` from now. */
export const inSeconds = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString();

/** Middleware standing in for an auth layer: `ctx.state.user` from the JSON in the `x-user` header. */
export const userFromHeader: Koa.Middleware = async (ctx, next) => {
  const raw = ctx.get('x-user');
  if (raw) ctx.state.user = JSON.parse(raw);
  await next();
};

/** A keyv with keyv's own defaults whose storage adapter fails every read (writes succeed). */
export function unreadableKeyv(message = 'store down'): Keyv {
  return new Keyv({
    store: {
      get: async () => {
        throw new Error(message);
      },
      set: async () => true,
      delete: async () => true,
      clear: async () => undefined,
    } as never,
  });
}
