import { lookup as dnsLookup } from 'node:dns/promises';
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

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/**
 * Only ordinary public unicast addresses pass: loopback, RFC 1918, link-local
 * (169.254.169.254 included), CGNAT, unique-local (fc00::/7), IPv4-mapped and
 * other embedded-IPv4 forms, multicast, reserved… are all refused.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.parse(address).range() === 'unicast';
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
