/** Durations and relative instants as operators type them: `30s`, `5m`, `2h`, `1d`, `+30m`. Pure. */

const UNITS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

/** A duration such as `30s`, `5m`, `1h30m`, `2d` or `250ms`, in milliseconds; undefined when `text` is none. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+(ms|s|m|h|d))+$/.test(t)) return undefined;
  let total = 0;
  for (const [, amount, unit] of t.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(amount) * UNITS[unit];
  return total;
}

/**
 * An instant typed by an operator: `+30m` (from `now`) or anything `Date` parses (ISO-8601). Returned as given when it
 * is no relative time, so the usual validation reports a bad one.
 */
export function instantFrom(text: string, now: Date): string {
  if (!text.startsWith('+')) return text;
  const ms = parseDuration(text.slice(1));
  return ms === undefined ? text : new Date(now.getTime() + ms).toISOString();
}
