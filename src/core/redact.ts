/** Store URLs as messages and logs show them: never with the password. Pure. */

/** `url` without its password (`redis://:***@host:6379`, `postgres://app:***@db/app`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<unparsable URL>';
  }
}
