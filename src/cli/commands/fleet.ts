/** `fleet`: the instances that serve the store, what each has applied, runs and holds. */
import { behind, type Fleet } from '../../core/presence.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT } from '../io.js';
import { fleetTable, printLine } from '../output.js';

/** Prints the fleet of the store (for --scope: that scope's drain), or with --json the fleet itself. */
export async function fleet(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const seen = await service.fleet(p.scope);
  if (p.json) {
    io.stdout.write(`${JSON.stringify(seen)}\n`);
    return EXIT.ok;
  }
  printLine(io, summary(seen));
  if (seen.instances.length > 0) io.stdout.write(`${fleetTable(seen, true)}\n`);
  return EXIT.ok;
}

/** One line about the fleet: how many instances, how many behind the revision. */
export function summary(fleet: Fleet): string {
  const live = fleet.instances.filter((i) => !i.stale);
  const late = behind(fleet, false).length;
  const where = fleet.scope === undefined ? '' : ` (scope ${fleet.scope})`;
  if (fleet.instances.length === 0)
    return `No instance has joined the fleet of this store yet (revision ${fleet.revision}).`;
  return `${live.length} live instance(s)${where} at revision ${fleet.revision}: ${late === 0 ? 'all applied it' : `${late} behind`}${fleet.instances.length > live.length ? `; ${fleet.instances.length - live.length} stale` : ''}.`;
}
