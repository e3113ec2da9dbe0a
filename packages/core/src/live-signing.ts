import { createHmac, timingSafeEqual } from 'node:crypto';
import { liveCanonicalString } from '@banatie/contracts';

/**
 * Live URL signatures (SPEC §7): `sig = base64url(HMAC-SHA256(liveSigningSecret, canonical))`;
 * the canonical string is built by @banatie/contracts, which the SDK signs with too.
 */
export { liveCanonicalString };

export function liveSignature(secret: string, canonical: string): string {
  return createHmac('sha256', secret).update(canonical).digest('base64url');
}

/**
 * Signs a live URL for a scope that requires signatures. `expiresAt` (a Date or
 * unix seconds) adds `exp`; an existing `sig` is replaced.
 *
 *   import { signLiveUrl } from '@banatie/core';
 *   signLiveUrl('https://img.example.com/cdn/acme/site/live/hero?prompt=a+lighthouse', process.env.BANATIE_LIVE_SECRET!);
 */
export function signLiveUrl(url: string | URL, secret: string, opts: { expiresAt?: Date | number } = {}): string {
  const u = new URL(url);
  u.searchParams.delete('sig');
  if (opts.expiresAt !== undefined) {
    const exp = opts.expiresAt instanceof Date ? Math.floor(opts.expiresAt.getTime() / 1000) : Math.floor(opts.expiresAt);
    u.searchParams.set('exp', String(exp));
  }
  const sig = liveSignature(secret, liveCanonicalString(u.pathname, u.searchParams.entries()));
  u.searchParams.set('sig', sig);
  return u.toString();
}

export type LiveSignatureCheck = 'valid' | 'missing' | 'invalid' | 'expired';

/**
 * Checks `sig` (and `exp`, unix seconds, when present) of a request's path and
 * decoded query. Several secrets: a signature made with any of them is valid
 * (the current one and, during a rotation's grace period, the replaced one).
 */
export function verifyLiveSignature(
  secrets: string | readonly string[],
  path: string,
  params: Array<[string, string]>,
  now: Date,
): LiveSignatureCheck {
  const sigs = params.filter(([k]) => k === 'sig');
  if (sigs.length === 0) return 'missing';
  if (sigs.length > 1) return 'invalid';
  const canonical = liveCanonicalString(path, params);
  const given = Buffer.from(sigs[0]![1]);
  let matched = false;
  // Every secret is compared, so the time taken does not tell which one matched.
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = Buffer.from(liveSignature(secret, canonical));
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) return 'invalid';
  const exps = params.filter(([k]) => k === 'exp');
  if (exps.length > 1) return 'invalid';
  if (exps.length === 1) {
    const exp = exps[0]![1];
    if (!/^\d{1,12}$/.test(exp)) return 'invalid';
    if (Number(exp) * 1000 <= now.getTime()) return 'expired';
  }
  return 'valid';
}
