/** Store URLs as messages and logs show them: never with a credential. Pure. */

/**
 * Query parameters that carry credentials in the URLs the drivers accept (libpq / pg: `password`, `sslpassword`;
 * `sslkey` names a private key; node-redis and others: `password`, `token`, `secret`, `auth`).
 */
const CREDENTIAL_PARAM = /pass|secret|token|auth|key|credential/i;

/**
 * `url` without its credentials: the password of the user part (`redis://:***@host:6379`,
 * `postgres://app:***@db/app`) and every credential-bearing query parameter (`?password=***&sslpassword=***`).
 * Anything that is not a parsable URL is shown as `<unparsable URL>`, since it may be a credential itself.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const name of [...u.searchParams.keys()]) {
      if (CREDENTIAL_PARAM.test(name)) u.searchParams.set(name, '***');
    }
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<unparsable URL>';
  }
}

/** A value shown in an option error: a string as a redacted URL, anything else as it is. */
export function shownUrl(value: unknown): unknown {
  return typeof value === 'string' ? redactUrl(value) : value;
}
