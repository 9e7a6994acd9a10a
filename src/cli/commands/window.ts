/** `window add|list|rm` and `upcoming`: recurring windows from the command line. */
import { parseDuration } from '../../core/duration.js';
import type { Occurrence } from '../../core/windows.js';
import { describeRule } from '../../service/recurrence-rule.js';
import type { MaintenanceService } from '../../service/service.js';
import type { Parsed } from '../args.js';
import { accountName, type CliIo, EXIT, readerLanguage, UsageError } from '../io.js';
import { messageText, printLine } from '../output.js';

/** Adds, lists or removes a recurring window. */
export async function window(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  if (p.path === 'rm') {
    await service.removeWindow(p.id as string, { by: `cli:${accountName(io)}` });
    io.stdout.write(`Removed window ${p.id}.\n`);
    return EXIT.ok;
  }
  if (p.path === 'list') return list(p, service, io);
  const minutes = p.duration === undefined ? undefined : parseDuration(p.duration);
  if (!p.rrule || !p.start || minutes === undefined) {
    throw new UsageError('window add needs --rrule, --start (local YYYY-MM-DDTHH:MM) and --duration (e.g. 30m).');
  }
  const added = await service.addWindow({
    rrule: p.rrule,
    tz: p.tz ?? 'UTC',
    start: p.start,
    durationMinutes: Math.round(minutes / 60_000),
    ...(p.id !== undefined ? { id: p.id } : {}),
    ...(p.message !== undefined ? { message: p.message } : {}),
    ...(p.scope !== undefined ? { scope: p.scope } : {}),
    ...(p['read-only'] ? { readOnly: true } : {}),
    ...(p['dry-run'] ? { dryRun: true } : {}),
    by: `cli:${accountName(io)}`,
  });
  const [next] = service.occurrencesOf(added, 1);
  if (p.json) io.stdout.write(`${JSON.stringify(added)}\n`);
  else printLine(io, `Added window ${added.id}${next ? `; next occurrence ${line(next, io)}` : ''}.`);
  return EXIT.ok;
}

async function list(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  await service.getState();
  const windows = await service.windows();
  if (p.json) {
    io.stdout.write(`${JSON.stringify(windows)}\n`);
    return EXIT.ok;
  }
  if (windows.length === 0) io.stdout.write('No recurring windows.\n');
  for (const w of windows) {
    const flags = [w.scope && `scope ${w.scope}`, w.readOnly && 'read-only', w.dryRun && 'dry run'].filter(Boolean);
    const [next] = service.occurrencesOf(w, 1);
    printLine(
      io,
      `${w.id}  ${describeRule(w, readerLanguage(io).split('-')[0])}, ${w.durationMinutes} min` +
        `${flags.length ? ` (${flags.join(', ')})` : ''}  [${w.rrule}; from ${w.start}]` +
        `${next ? `; next ${next.start.toISOString()}` : '; none ahead'}`,
    );
  }
  return EXIT.ok;
}

function line(o: Occurrence, io: CliIo): string {
  const text = messageText(o.window.message, readerLanguage(io));
  const local = o.start.toLocaleString('sv-SE', { timeZone: o.window.tz }).slice(0, 16);
  return `${o.start.toISOString()} to ${o.end.toISOString()} (${local} ${o.window.tz})${text ? ` ${text}` : ''}`;
}

/** Prints the next `--count` occurrences (default 10), in time order. */
export async function upcoming(p: Parsed, service: MaintenanceService, io: CliIo): Promise<number> {
  await service.getStoredState(); // what the store holds now, not a cache
  const list = service.upcoming({
    count: p.count === undefined ? 10 : Number(p.count),
    ...(p.scope !== undefined ? { scope: p.scope } : {}),
  });
  if (p.json) {
    const out = list.map((o) => ({
      window: o.window.id,
      start: o.start.toISOString(),
      end: o.end.toISOString(),
      scope: o.window.scope,
    }));
    io.stdout.write(`${JSON.stringify(out)}\n`);
    return EXIT.ok;
  }
  if (list.length === 0) io.stdout.write('No upcoming windows.\n');
  for (const o of list)
    printLine(io, `${o.window.id}  ${line(o, io)}${o.window.scope ? ` [scope ${o.window.scope}]` : ''}`);
  return EXIT.ok;
}
