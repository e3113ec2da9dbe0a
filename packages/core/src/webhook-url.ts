import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A webhook URL that passed the checks, with the address to connect to (never resolved again). */
export interface CheckedWebhookUrl {
  url: URL;
  address: string;
  family: 4 | 6;
}

export class WebhookUrlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUrlRefusedError';
  }
}

/** DNS gave no answer: maybe temporary, so not a refusal (delivery retries; submit accepts it). */
export class WebhookHostUnresolvedError extends Error {
  constructor(host: string) {
    super(`webhookUrl host ${host} does not resolve`);
    this.name = 'WebhookHostUnresolvedError';
  }
}

export type HostLookup = (host: string) => Promise<Array<{ address: string; family: number }>>;

/** The whole lookup of a webhook host (both address families) ends within this; then the host counts as unresolved. */
export const WEBHOOK_DNS_TIMEOUT_MS = 3000;
/** How long a read of the hosts file is reused. */
const HOSTS_FILE_TTL_MS = 30_000;

export interface DnsLookupOptions {
  timeoutMs?: number;
  /** DNS servers (`host:port`); default: the system's (/etc/resolv.conf). */
  servers?: string[];
  /** Default /etc/hosts. */
  hostsFile?: string;
}

type Address = { address: string; family: number };

/** name → addresses from a hosts(5) file; an unreadable file is an empty one. */
function parseHostsFile(path: string): Map<string, Address[]> {
  const entries = new Map<string, Address[]>();
  let text = '';
  try {
    // Synchronous on purpose: a small local file, and the threadpool is what this lookup stays off.
    text = readFileSync(path, 'utf8');
  } catch {
    return entries;
  }
  for (const line of text.split('\n')) {
    const [address, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    const family = address ? isIP(address.replace(/%.*$/, '')) : 0;
    if (!family) continue;
    for (const name of names) {
      const key = name.toLowerCase();
      entries.set(key, [...(entries.get(key) ?? []), { address: address!, family }]);
    }
  }
  return entries;
}

/**
 * Resolves webhook hosts off libuv's threadpool: `dns.lookup` runs the blocking
 * getaddrinfo there, and a slow DNS server would then hold up sharp's image work
 * (and fs, zlib, crypto) queued behind it. Here: `localhost` names (RFC 6761)
 * and the hosts file first, as getaddrinfo would, then A and AAAA queries by
 * c-ares (`dns.Resolver`), all within `timeoutMs`. Every address returned is
 * then checked by the caller.
 */
export function createDnsLookup(opts: DnsLookupOptions = {}): HostLookup {
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_DNS_TIMEOUT_MS;
  const hostsFile = opts.hostsFile ?? '/etc/hosts';
  let hosts: { entries: Map<string, Address[]>; readAt: number } | null = null;
  return async (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) {
      return [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
    }
    if (!hosts || Date.now() - hosts.readAt > HOSTS_FILE_TTL_MS) hosts = { entries: parseHostsFile(hostsFile), readAt: Date.now() };
    const listed = hosts.entries.get(name);
    if (listed) return listed;

    // c-ares retries with a doubled timeout: timeout/3 + 2·timeout/3 fits the budget; the cancel below enforces it.
    const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
    if (opts.servers) resolver.setServers(opts.servers);
    const deadline = setTimeout(() => resolver.cancel(), timeoutMs);
    try {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
      const addresses: Address[] = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 })) : []),
      ];
      if (addresses.length === 0 && v4.status === 'rejected') throw v4.reason;
      return addresses;
    } finally {
      clearTimeout(deadline);
    }
  };
}

const systemLookup: HostLookup = createDnsLookup();

/**
 * IPv4-compatible IPv6 (`::/96`, deprecated by RFC 4291): `[::127.0.0.1]` is
 * written `[::7f00:1]` by the URL parser, which ipaddr.js calls plain unicast,
 * yet some stacks route it to the embedded IPv4 address.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/**
 * Only ordinary public unicast addresses pass: loopback, RFC 1918, link-local
 * (169.254.169.254 included), CGNAT, unique-local (fc00::/7), IPv4-mapped
 * (`::ffff:0:0/96`), IPv4-compatible (`::/96`), NAT64 (`64:ff9b::/96`,
 * `64:ff9b:1::/48`), 6to4, Teredo and other embedded-IPv4 forms, multicast,
 * reserved… are all refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE)) return false;
  return parsed.range() === 'unicast';
}

/** http(s) only, with a host; the URL parser has already normalised decimal/hex/octal IPv4 forms. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefusedError('webhookUrl must be a valid http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlRefusedError('webhookUrl must use http or https');
  if (!url.hostname) throw new WebhookUrlRefusedError('webhookUrl must have a host');
  return url;
}

/**
 * Resolves the host and checks every address it resolves to (refusing the URL if
 * any one is not public, unless allowPrivate). The caller connects to the
 * returned address, so a second DNS answer cannot re-bind the host.
 */
export async function checkWebhookUrl(
  raw: string,
  opts: { allowPrivate: boolean; lookup?: HostLookup },
): Promise<CheckedWebhookUrl> {
  const url = parseWebhookUrl(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (opts.lookup ?? systemLookup)(host);
    } catch {
      throw new WebhookHostUnresolvedError(host);
    }
    if (addresses.length === 0) throw new WebhookHostUnresolvedError(host);
  }
  if (!opts.allowPrivate) {
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) throw new WebhookUrlRefusedError('webhookUrl resolves to a private, loopback or reserved address');
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
