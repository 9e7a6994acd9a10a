/** Client IP normalisation and `ignoreIpAddresses` matching (exact, CIDR, RegExp). Pure; uses node:net only. */
import { BlockList, isIP } from 'node:net';

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * Canonical form of an address for comparison: brackets and zone id dropped, IPv4-mapped IPv6
 * (`::ffff:10.0.0.1`, what Node reports on dual-stack sockets) turned into plain IPv4, lower case.
 */
export function normalizeIp(raw: string): string {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  const mapped = MAPPED_V4.exec(ip);
  return mapped ? mapped[1] : ip.toLowerCase();
}

/** Why an `ignoreIpAddresses` string is invalid, or undefined when it is a valid address or CIDR. */
export function ipEntryProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const addr = normalizeIp(slash === -1 ? entry : entry.slice(0, slash));
  const family = isIP(addr);
  if (family === 0) return `${JSON.stringify(entry)} is not an IPv4/IPv6 address or CIDR`;
  if (slash === -1) return undefined;
  const bits = entry.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
    return `${JSON.stringify(entry)} has an invalid prefix length (0-${max} for IPv${family})`;
  }
  return undefined;
}

/** Compiles validated entries into one predicate over a client address. */
export function compileIpMatcher(entries: ReadonlyArray<string | RegExp>): (ip: string | undefined) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  const patterns: RegExp[] = [];
  for (const entry of entries) {
    if (entry instanceof RegExp) {
      patterns.push(entry);
      continue;
    }
    const slash = entry.indexOf('/');
    const addr = normalizeIp(slash === -1 ? entry : entry.slice(0, slash));
    const type = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
    if (slash === -1) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(entry.slice(slash + 1)), type);
  }
  return (raw) => {
    if (!raw) return false;
    const ip = normalizeIp(raw);
    const family = isIP(ip);
    if (family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return true;
    return patterns.some((re) => re.test(ip));
  };
}

/** The first four groups of an IPv6 address (its /64), expanded: `2001:db8:0:1` for `2001:db8:0:1::5`. */
function ipv6Prefix64(ip: string): string {
  const [head, tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const width = (parts: string[]) => parts.length + (parts.at(-1)?.includes('.') ? 1 : 0); // a dotted quad is 2 groups
  const groups = [...left, ...Array(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':');
}

/**
 * What counts as one client for per-client limits: the normalised IPv4 address, or the /64 of an IPv6 address (one
 * end site is routinely given a whole /64, so its addresses are one client). Unknown addresses share one key.
 */
export function clientKey(raw: string | undefined): string {
  if (!raw) return '?';
  const ip = normalizeIp(raw);
  return isIP(ip) === 6 ? `${ipv6Prefix64(ip)}::/64` : ip;
}
