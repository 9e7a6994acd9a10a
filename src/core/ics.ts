/**
 * The iCalendar feed of the windows (RFC 5545): one VEVENT per occurrence, in UTC (no VTIMEZONE needed), with a UID
 * stable per occurrence so a subscribed calendar updates instead of duplicating. Pure.
 */
import type { PublicOccurrence } from './windows.js';

/** The line breaks of a message: CRLF, CR, LF, NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR. */
const LINE_BREAK = /\r\n|[\n\r\u0085\u2028\u2029]/g;
/** The control characters left once line breaks are `\n`: TEXT holds none but HTAB (RFC 5545 3.3.11, TSAFE-CHAR). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: dropping control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * RFC 5545 TEXT: backslash, semicolon and comma escaped, every line break written `\n`, other control characters
 * dropped, so no reader (ical.js splits on LF, Python's icalendar on every Unicode line break) sees a new line.
 */
function text(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(LINE_BREAK, '\\n')
    .replace(CONTROL, '');
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
