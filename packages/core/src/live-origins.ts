import ipaddr from 'ipaddr.js';

const ORIGIN_PATTERN = /^(https?):\/\/(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?\/?$/i;

/**
 * An allowed origin as stored: `scheme://host[:port]`, lowercased, no path;
 * `https://*.example.com` allows every subdomain. null when malformed.
 */
export function normalizeAllowedOrigin(value: string): string | null {
  const m = ORIGIN_PATTERN.exec(value.trim());
  if (!m) return null;
  const [, scheme, wildcard, host, port] = m;
  const defaultPort = scheme!.toLowerCase() === 'https' ? '443' : '80';
  const portPart = port && port !== defaultPort ? `:${Number(port)}` : '';
  return `${scheme!.toLowerCase()}://${wildcard ?? ''}${host!.toLowerCase()}${portPart}`;
}

/** The requesting page's origin: `Origin`, else the origin of `Referer` (what an <img> sends). */
export function requestOrigin(origin: string | undefined, referer: string | undefined): string | null {
  for (const candidate of [origin, referer]) {
    if (!candidate || candidate === 'null') continue;
    try {
      const u = new URL(candidate);
      if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin.toLowerCase();
    } catch {
      // a malformed header counts as absent
    }
  }
  return null;
}

export function originAllowed(allowed: readonly string[], origin: string): boolean {
  const u = new URL(origin);
  return allowed.some((entry) => {
    const wildcard = /^(https?):\/\/\*\.(.+)$/.exec(entry);
    if (!wildcard) return entry === origin;
    const [, scheme, rest] = wildcard;
    const suffix = new URL(`${scheme}://${rest}`);
    return u.protocol === suffix.protocol && u.port === suffix.port && u.hostname.endsWith(`.${suffix.hostname}`);
  });
}

/**
 * What the per-IP limit counts: an IPv4 address (IPv4-mapped IPv6 included), or
 * the /64 of an IPv6 address — one subscriber usually holds a whole /64, so
 * counting single IPv6 addresses would not limit anyone.
 */
export function clientAddressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}
