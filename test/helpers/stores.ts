/**
 * The four stores of this package as the store contract suite opens them (test/store-contract.test.ts): each with its
 * own data (a temp directory, a private redis-server or PostgreSQL cluster, a Keyv in memory) and the fault controls
 * it can have.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import Keyv from 'keyv';
import pg from 'pg';
import { createFileStore, createPostgresStore, createRedisStore } from '../../src/index.js';
import type { MaintenanceStoreFactory } from '../../src/testing.js';
import { postgresBin, startPostgres, type TestPostgres } from './postgres.js';
import { startRedis, type TestRedis } from './redis.js';
import { needBinary, unavailableWithout } from './system.js';

/** A state no reader accepts (`enabled` must be a boolean), as keyv stores it. */
const CORRUPT_ENVELOPE = '{"value":{"enabled":"maybe"}}';

/** The embedded file store on a state file in a temp directory; it has no server to stall or kill. */
export function fileStoreFactory(): MaintenanceStoreFactory {
  let dir = '';
  const statePath = () => join(dir, 'state.json');
  return {
    setup: () => {
      dir = mkdtempSync(join(tmpdir(), 'kmm-contract-'));
    },
    teardown: () => rmSync(dir, { recursive: true, force: true }),
    create: () => createFileStore({ path: statePath() }),
    faults: {
      corrupt: () => {
        writeFileSync(statePath(), '{"enabled": tru');
        return `The state file ${statePath()}`;
      },
      forgePresence: (id, text) => {
        mkdirSync(`${statePath()}.d`, { recursive: true }); // the side directory, made as a forger would
        writeFileSync(join(`${statePath()}.d`, `presence.${encodeURIComponent(id)}.json`), text);
      },
    },
  };
}

/** Redis: a private redis-server (SIGSTOP to stall it, stopped and started again on the same data). */
export function redisFactory(): MaintenanceStoreFactory {
  let redis: TestRedis | undefined;
  const server = () => redis as TestRedis;
  /** Runs `op` on a connection of its own (closed after). */
  const connect = () => createClient({ url: server().url });
  const raw = async (op: (c: ReturnType<typeof connect>) => Promise<unknown>) => {
    const c = connect();
    c.on('error', () => undefined);
    await c.connect();
    try {
      await op(c);
    } finally {
      await c.close().catch(() => undefined);
    }
  };
  const stateKey = 'maintenance-mode::maintenance_mode_state';
  return {
    unavailable: unavailableWithout('redis-server', 'redis-server'),
    async setup() {
      needBinary('redis-server', 'redis-server');
      redis = await startRedis();
    },
    teardown: () => redis?.dispose(),
    create: () => createRedisStore(server().url),
    faults: {
      stall: () => server().pause(),
      resume: () => server().resume(),
      kill: () => server().stop(),
      restart: () => server().restart(),
      corrupt: async () => {
        await raw((c) => c.set(stateKey, CORRUPT_ENVELOPE));
        return `The Redis key ${stateKey}`;
      },
      forgePresence: (id, text) =>
        raw(async (c) => {
          // As a forger would: a key without a TTL, in the index far ahead, so no prune ever drops it.
          await c.set(`maintenance-mode::presence:${id}`, text);
          await c.zAdd('maintenance-mode::presence', { score: 32_503_680_000_000, value: id });
        }),
    },
  };
}

/** PostgreSQL: a private cluster (SIGSTOP to its processes to stall it, stopped and started again). */
export function postgresFactory(): MaintenanceStoreFactory {
  let db: TestPostgres | undefined;
  const cluster = () => db as TestPostgres;
  /** Runs `sql` with `values` on a connection of its own (closed after). */
  const query = async (sql: string, values: unknown[] = []) => {
    const c = new pg.Client({ connectionString: cluster().url });
    c.on('error', () => undefined);
    await c.connect();
    try {
      await c.query(sql, values);
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  return {
    unavailable: unavailableWithout(postgresBin('initdb') ?? 'initdb', 'postgresql'),
    async setup() {
      needBinary(postgresBin('initdb') ?? 'initdb', 'postgresql');
      db = await startPostgres();
    },
    teardown: () => db?.dispose(),
    create: () => createPostgresStore(cluster().url),
    faults: {
      stall: () => cluster().pause(),
      resume: () => cluster().resume(),
      kill: () => cluster().stop(),
      restart: () => cluster().restart(),
      corrupt: async () => {
        await query("UPDATE maintenance_mode_keyv SET value = $1 WHERE key = 'maintenance_mode_state'", [
          CORRUPT_ENVELOPE,
        ]);
        return 'The row maintenance_mode_state of the table maintenance_mode_keyv';
      },
      forgePresence: (id, text) =>
        query(
          `INSERT INTO maintenance_mode_presence (id, record, last_seen) VALUES ($1, $2::jsonb, now() + interval '1 day')
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record, last_seen = EXCLUDED.last_seen`,
          [id, text],
        ),
    },
  };
}

/**
 * An in-memory Keyv (`new Keyv()`), the same object for every service (it cannot be opened twice): no push, no
 * presence, and writes that are not atomic across instances (read, then write).
 */
export function memoryKeyvFactory(): MaintenanceStoreFactory {
  const keyv = new Keyv();
  return {
    create: () => keyv,
    capabilities: { push: false, presence: false, atomic: false },
    faults: {
      corrupt: async () => {
        await keyv.set('maintenance_mode_state', { enabled: 'maybe' });
        return 'The key maintenance_mode_state of the keyv store';
      },
    },
  };
}
