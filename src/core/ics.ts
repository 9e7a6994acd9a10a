/**
 * The iCalendar feed of the windows (RFC 5545): one VEVENT per occurrence, in UTC (no VTIMEZONE needed), with a UID
 * stable per occurrence so a subscribed calendar updates instead of duplicating. Pure.
 */
import type { PublicOccurrence } from './windows.js';

/** RFC 5545 text: backslash, semicolon, comma and newlines escaped. */
function text(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** A UTC DATE-TIME: `20270328T013000Z`. */
function utc(iso: string): string {
  return `${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** Folds a content line at 75 octets (continuation lines start with a space), never inside a UTF-8 sequence. */
function fold(line: string): string {
  const out: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of line) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > (out.length === 0 ? 75 : 74)) {
      out.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += size;
  }
  out.push(current);
  return out.join('\r\n ');
}

/** The feed of `occurrences` (their message already in one language), stamped `now`, named `name`. */
export function icsFeed(occurrences: readonly PublicOccurrence[], now: Date, name = 'Maintenance windows'): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//koa-maintenance-mode//windows//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    `X-WR-CALNAME:${text(name)}`,
  ];
  for (const o of occurrences) {
    const summary = `Maintenance${o.scope === undefined ? '' : ` (${o.scope})`}${o.readOnly ? ', read-only' : ''}`;
    lines.push(
      'BEGIN:VEVENT',
      `UID:${o.window}-${utc(o.start)}@koa-maintenance-mode`,
      `DTSTAMP:${utc(now.toISOString())}`,
      `DTSTART:${utc(o.start)}`,
      `DTEND:${utc(o.end)}`,
      `SUMMARY:${text(summary)}`,
      ...(typeof o.message === 'string' ? [`DESCRIPTION:${text(o.message)}`] : []),
      'TRANSP:OPAQUE',
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return `${lines.map(fold).join('\r\n')}\r\n`;
}
