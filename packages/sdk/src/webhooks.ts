import type { WebhookEvent } from '@banatie/contracts';
import { constantTimeEqual, fromBase64, hmacSha256, toBase64 } from './bytes.js';
import { BanatieError } from './errors.js';

/** Request headers as a Headers object, a plain object (Node's IncomingHttpHeaders) or entries. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined> | Iterable<[string, string]>;

export interface VerifyWebhookOptions {
  /** Accepted clock difference in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time (tests). */
  now?: Date | number;
}

export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  if (Symbol.iterator in headers && !isPlainRecord(headers)) {
    for (const [k, v] of headers as Iterable<[string, string]>) if (k.toLowerCase() === name) return v;
    return undefined;
  }
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

const isPlainRecord = (v: object): boolean => Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null;

const invalid = (message: string) => new BanatieError({ code: 'WEBHOOK_INVALID', message, status: 0 });

/** The HMAC key of a Standard Webhooks secret (`whsec_` + base64). */
function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  try {
    return fromBase64(secret.startsWith('whsec_') ? secret.slice(6) : secret);
  } catch {
    throw invalid('The webhook secret is not a valid whsec_ secret');
  }
}

/**
 * Verifies a webhook delivery (Standard Webhooks): the `webhook-signature`
 * header must hold a `v1,<base64 HMAC-SHA256>` of `${webhook-id}.${webhook-timestamp}.${body}`
 * and the timestamp must be within 5 minutes. Pass the raw body exactly as
 * received. Returns the parsed event; throws BanatieError code `WEBHOOK_INVALID`.
 */
export async function verifyWebhook(body: string, headers: WebhookHeaders, secret: string, opts: VerifyWebhookOptions = {}): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw invalid('Missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,15}$/.test(timestamp)) throw invalid('Invalid webhook-timestamp header');
  const nowMs = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const tolerance = opts.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const age = Math.floor(nowMs / 1000) - Number(timestamp);
  if (age > tolerance) throw invalid('Webhook timestamp is too old');
  if (age < -tolerance) throw invalid('Webhook timestamp is too new');

  const expected = toBase64(await hmacSha256(secretKey(secret), `${id}.${timestamp}.${body}`));
  let matched = false;
  for (const candidate of signatures.split(' ')) {
    const comma = candidate.indexOf(',');
    if (comma < 0 || candidate.slice(0, comma) !== 'v1') continue;
    // Every candidate is compared, so the time taken does not tell which one matched.
    if (constantTimeEqual(candidate.slice(comma + 1), expected)) matched = true;
  }
  if (!matched) throw invalid('No matching webhook signature');
  try {
    return JSON.parse(body) as WebhookEvent;
  } catch {
    throw invalid('Webhook body is not JSON');
  }
}

/** Signs a payload like the server does (for tests of your own receiver). */
export async function signWebhook(body: string, secret: string, opts: { id: string; timestamp?: Date | number }): Promise<Record<string, string>> {
  const at = opts.timestamp === undefined ? Date.now() : typeof opts.timestamp === 'number' ? opts.timestamp * 1000 : opts.timestamp.getTime();
  const ts = String(Math.floor(at / 1000));
  const signature = toBase64(await hmacSha256(secretKey(secret), `${opts.id}.${ts}.${body}`));
  return { 'webhook-id': opts.id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${signature}` };
}
