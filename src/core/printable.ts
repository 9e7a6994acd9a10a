/**
 * Text that is printed somewhere else (a terminal, a list, an error message) without acting there: the characters that
 * end a line, drive a terminal or reorder what is shown, and their visible escapes. Pure.
 */

/**
 * C0 and C1 controls and DEL (CR/LF forge lines, ESC and CSI drive a terminal), LINE and PARAGRAPH SEPARATOR, and the
 * bidi controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) that reorder what a reader sees (CVE-2021-42574).
 */
const UNPRINTABLE_CLASS = '\\p{Cc}\\u2028\\u2029\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069';
const UNPRINTABLE = new RegExp(`[${UNPRINTABLE_CLASS}]`, 'u');
const UNPRINTABLE_ALL = new RegExp(`[${UNPRINTABLE_CLASS}]`, 'gu');
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Whether `text` holds a character {@link printable} would escape. */
export function hasUnprintable(text: string): boolean {
  return UNPRINTABLE.test(text);
}

/**
 * `text` with each control, separator and bidi character written visibly: `\r`, `\n`, `\t`, else `\uXXXX` (as JSON
 * writes them). Other characters, backslashes included, stay as they are, so escaping twice changes nothing.
 */
export function printable(text: string): string {
  return text.replace(
    UNPRINTABLE_ALL,
    (c) => NAMED[c] ?? `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}
