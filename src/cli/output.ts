/** How the CLI says a state: one line for people, the status JSON with `--json`. */
import { autoTripOf } from '../core/auto-trip.js';
import { type LocalizedText, messageView } from '../core/i18n.js';
import { behind, type Fleet, inFlightFor } from '../core/presence.js';
import { printable } from '../core/printable.js';
import { isActive, leaseLapsed, type MaintenanceState } from '../core/state.js';
import { statusBody } from '../core/status.js';
import type { MaintenanceService } from '../service/service.js';
import type { Parsed } from './args.js';
import type { CliIo } from './io.js';

/**
 * Prints one line with every control, separator and bidi character in it escaped visibly (`\r`, `\u001b`, `\u202e`):
 * the one way commands print a line holding stored text (who changed what, messages, reasons, labels, hosts), so a
 * stored value can neither forge a line nor drive the terminal. `--json` output is JSON, escaped by JSON's rules.
 */
export function printLine(io: CliIo, line: string): void {
  io.stdout.write(`${printable(line)}\n`);
}

/** A message for the reader: in their language when it has several, with the others named (`"…" (also in de, ja)`). */
export function messageText(message: string | LocalizedText | undefined, lang: string): string | undefined {
  const view = messageView(message, lang, 'en');
  if (view.text === undefined) return undefined;
  const also = view.others.length > 0 ? ` (${view.lang}; also in ${view.others.join(', ')})` : '';
  return `${JSON.stringify(view.text)}${also}`;
}

/** `on (until …; message: "…"; changed … by …)` and the like. */
export function describe(state: MaintenanceState, now: Date, lang: string): string {
  const active = isActive(state, now);
  const parts: string[] = [];
  if (state.enabled && !active && state.start && Date.parse(state.start) > now.getTime()) {
    parts.push(`scheduled from ${state.start}${state.end ? ` to ${state.end}` : ''}`);
  } else if (active && state.window !== undefined) {
    parts.push(`recurring window ${state.window}${state.end ? ` until ${state.end}` : ''}`);
  } else if (active && state.end) parts.push(`until ${state.end}`);
  if (leaseLapsed(state, now)) {
    parts.push(`lease lapsed at ${state.leaseUntil}: its runner stopped renewing it`);
  }
  if (state.enabled && state.dryRun) parts.push('dry run: nothing is blocked');
  if (state.enabled && state.readOnly) parts.push('read-only: writes are blocked, reading works');
  const auto = autoTripOf(state, now);
  if (auto) parts.push(`auto: ${auto.name} since ${auto.since ?? 'unknown'}`);
  const message = messageText(state.message, lang);
  if (message) parts.push(`message: ${message}`);
  if (state.updatedAt && !auto) {
    parts.push(`changed ${state.updatedAt}${state.updatedBy ? ` by ${state.updatedBy}` : ''}`);
  }
  return `${active ? 'on' : 'off'}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** Prints a state as a line, or with --json as its status (plus `extra`) and the store. */
export function printer(p: Parsed, service: MaintenanceService, io: CliIo) {
  return (state: MaintenanceState, line: string, extra: object = {}) => {
    if (!p.json) {
      printLine(io, line);
      return;
    }
    const body = { ...statusBody(state, new Date()), ...extra, store: service.storeDescription };
    io.stdout.write(`${JSON.stringify(body)}\n`);
  };
}

/** The fleet as a table: one line per instance, those behind marked (`*`), stale ones said so; cells escaped. */
export function fleetTable(fleet: Fleet, drained: boolean): string {
  const late = new Set(behind(fleet, drained).map((i) => i.id));
  const rows = fleet.instances.map((i) =>
    [
      late.has(i.id) ? '*' : ' ',
      String(i.host), // a record anyone wrote may hold anything: a stale one is still shown, escaped
      String(i.pid),
      String(i.version),
      `${i.applied}${i.applied < fleet.revision ? ` (of ${fleet.revision})` : ''}`,
      String(inFlightFor(i, fleet.scope)),
      String(i.held),
      `${String(i.lastSeen)}${i.stale ? ' (stale)' : ''}`,
    ].map(printable),
  );
  const head = [' ', 'host', 'pid', 'version', 'applied', 'in flight', 'held', 'last seen'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
