/**
 * One process of `bench/fleet-scale.ts`: `count` instances (each a MaintenanceService with its own store connections,
 * joined to the fleet as `maintenance()` joins it on a first request) on the store `kind` at `url`. Says `ready` over
 * IPC once every instance reported; answers `cpu` with its CPU time so far; closes them all (leaving the fleet) on
 * `exit`.
 */
import { createPostgresStore, createRedisStore, MaintenanceService } from '../src/index.js';

const [kind, url, count, intervalMs] = process.argv.slice(2);
const quiet = process.env.DBG
  ? { warn: (m: string) => console.error(m), info: () => undefined }
  : { warn: () => undefined, info: () => undefined };
// connectTimeoutMs and storeTimeoutMs 5 s: hundreds of connections opened at once on 2 cores take PostgreSQL about
// 10 ms each (a forked backend), longer than the default 300 ms connect timeout; attempts given up retry together and
// never get in.
const store = () => (kind === 'redis' ? createRedisStore(url) : createPostgresStore(url, { connectTimeoutMs: 5000 }));

async function main() {
  const services = Array.from(
    { length: Number(count) },
    () => new MaintenanceService({ store: store(), logger: quiet, storeTimeoutMs: 5000 }),
  );
  // Connected, as a serving instance is; ten at a time, as a fleet that starts over some seconds, not in one tick.
  for (let i = 0; i < services.length; i += 10) await Promise.all(services.slice(i, i + 10).map((s) => s.getState()));
  for (const s of services) s.joinFleet({ intervalMs: Number(intervalMs) });
  process.send?.({ type: 'ready' });
  process.once('disconnect', () => process.exit(0)); // the bench ended (or was killed): never outlive it
  process.on('message', async (m: { type: string }) => {
    if (m.type === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() });
    if (m.type !== 'exit') return;
    await Promise.all(services.map((s) => s.close()));
    process.exit(0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
