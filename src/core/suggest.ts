/** "Did you mean …?" for option names. Pure. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** django setting name (`MAINTENANCE_MODE_IGNORE_STAFF`) to this library's camelCase (`ignoreStaff`). */
function fromDjango(name: string): string {
  const bare = name.replace(/^MAINTENANCE_MODE_/, '').toLowerCase();
  return bare.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The known name closest to `name`, or undefined when none is plausibly meant. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const candidates = [name, fromDjango(name)];
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const k of known) {
    for (const c of candidates) {
      const a = c.toLowerCase();
      const b = k.toLowerCase();
      if (a === b) return k;
      // `retryAfterSeconds` → `retryAfter`: a known name with a unit or suffix added is the likely intent.
      const d = b.length >= 6 && (a.startsWith(b) || b.startsWith(a)) ? 1 : distance(a, b);
      if (d < bestScore) {
        bestScore = d;
        best = k;
      }
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

/** Throws-ready message for an unknown key, with the suggestion when there is one. */
export function unknownKeyMessage(what: string, key: string, known: readonly string[]): string {
  const near = nearestName(key, known);
  const hint = near ? ` Did you mean \`${near}\`?` : ` Known options: ${known.join(', ')}.`;
  return `Unknown ${what} option \`${key}\`.${hint}`;
}
