/**
 * One process of `bench/fleet-scale.ts`: `count` instances (each a MaintenanceService with its own store connections,
 * joined to the fleet as `maintenance()` joins it on a first request) on the store `kind` at `url`. Says `ready` over
 * IPC once every instance reported; answers `cpu` with its CPU time so far; closes them all (leaving the fleet) on
 * `exit`.
 */
import { createPostgresStore, createRedisStore, MaintenanceService } from '../src/index.js';

const [kind, url, count, intervalMs] = process.argv.slice(2);
const quiet = { warn: () => undefined, info: () => undefined };
const store = () => (kind === 'redis' ? createRedisStore(url) : createPostgresStore(url));

async function main() {
  const services = Array.from(
    { length: Number(count) },
    () => new MaintenanceService({ store: store(), logger: quiet }),
  );
  await Promise.all(services.map((s) => s.getState())); // connected, as a serving instance is
  for (const s of services) s.joinFleet({ intervalMs: Number(intervalMs) });
  process.send?.({ type: 'ready' });
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
