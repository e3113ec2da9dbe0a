import { isIPv4, isIPv6 } from 'node:net';

/**
 * The unit a per-client limit counts: an IPv4 address as is, an IPv6 address by
 * its /64 (one customer's network: a host can pick any address in it at will).
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as the IPv4 address.
 */
export function clientSubnet(ip: string): string {
  if (isIPv4(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lowercase hex without leading zeros. */
function expandIPv6(ip: string): string[] {
  const [head = '', tail] = ip.toLowerCase().replace(/%.*$/, '').split('::');
  const groups = (part: string) => (part ? part.split(':').flatMap(dottedAsGroups) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const middle = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...middle, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

/** A trailing dotted IPv4 part (`::ffff:1.2.3.4`) is the last two groups. */
function dottedAsGroups(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
