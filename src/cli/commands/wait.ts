/** Waiting for the fleet after a switch (`on --wait`, `run`): settled, or the instances behind and exit 3. */
import type { MaintenanceError } from '../../core/errors.js';
import { FLEET_WAIT_DEFAULTS, type MaintenanceService } from '../../service/service.js';
import { type CliIo, EXIT } from '../io.js';
import { fleetTable } from '../output.js';

/**
 * Waits until every live instance applied the current revision and drained; resolves `EXIT.ok` after saying so, or
 * `EXIT.fleet` after printing who is behind. Other failures (the store down) throw.
 */
export async function settle(
  service: MaintenanceService,
  io: CliIo,
  scope: string | undefined,
  timeoutMs: number = FLEET_WAIT_DEFAULTS.timeoutMs,
): Promise<number> {
  const t0 = performance.now();
  try {
    const fleet = await service.waitForFleet({ scope, timeoutMs });
    const live = fleet.instances.filter((i) => !i.stale).length;
    const ms = Math.round(performance.now() - t0);
    io.stdout.write(`Every live instance (${live}) applied revision ${fleet.revision} and drained, in ${ms} ms.\n`);
    return EXIT.ok;
  } catch (err) {
    const fleet = (err as MaintenanceError).fleet;
    if (!fleet) throw err;
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    io.stdout.write(`${fleetTable(fleet, true)}\n`);
    return EXIT.fleet;
  }
}
