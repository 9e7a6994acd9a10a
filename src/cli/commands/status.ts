/** `status`: the global state (or --scope's) and every scope in maintenance. */
import type { MaintenanceState } from '../../core/state.js';
import { scopesBody } from '../../core/status.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT, readerLanguage } from '../io.js';
import { describe, printer, printLine } from '../output.js';

/** Prints the state of the site (or of --scope) and the scopes in maintenance. */
export async function status(p: Parsed, service: MaintenanceService, io: CliIo, current: MaintenanceState) {
  const now = new Date();
  const lang = readerLanguage(io);
  const where = p.scope ? ` for scope ${p.scope}` : '';
  const scopes = p.scope ? [] : await service.scopes();
  if (p.json) {
    const extra = p.scope ? { scope: p.scope } : { scopes: scopesBody(scopes, now) };
    printer(p, service, io)(current, '', extra);
    return EXIT.ok;
  }
  printLine(io, `Maintenance mode${where} is ${describe(current, now, lang)}. State: ${service.storeDescription}.`);
  if (scopes.length > 0) printLine(io, `Scopes in maintenance (${scopes.length}):`);
  for (const { scope, state } of scopes) printLine(io, `  ${scope}: ${describe(state, now, lang)}`);
  return EXIT.ok;
}
