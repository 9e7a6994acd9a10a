/** `history`: the latest changes, who made them, when and how. */
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { type CliIo, EXIT, readerLanguage } from '../io.js';
import { messageText, printLine } from '../output.js';

/** Prints the newest `--limit` changes (default 20), oldest last; with `--json` the entries themselves. */
export async function history(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  const entries = await service.history(p.limit === undefined ? 20 : Number(p.limit));
  if (p.json) {
    io.stdout.write(`${JSON.stringify(entries)}\n`);
    return EXIT.ok;
  }
  if (entries.length === 0) io.stdout.write('No changes recorded yet.\n');
  const lang = readerLanguage(io);
  for (const e of entries) {
    const text = messageText(e.message, lang);
    const scope = e.scope ? ` [scope ${e.scope}]` : '';
    const why = e.reason ? ` (${e.reason})` : '';
    printLine(
      io,
      `${e.at}  ${e.from} -> ${e.to}${scope}  by ${e.by ?? 'unknown'} via ${e.source}${why}${text ? ` ${text}` : ''}`,
    );
  }
  return EXIT.ok;
}
