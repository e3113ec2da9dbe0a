import { buildLiveUrl, liveCanonicalString, type LiveUrlParams } from '@banatie/contracts';
import { hmacSha256, toBase64Url, utf8 } from './bytes.js';

export type { LiveUrlParams };

export interface SignOptions {
  /** When the URL stops working: a Date or unix seconds (adds `exp`). */
  expiresAt?: Date | number;
}

/** The public live URL of a prompt (unsigned). */
export const liveUrl = (baseUrl: string, params: LiveUrlParams): string => buildLiveUrl(baseUrl, params);

/**
 * Signs a live URL with the project's live signing secret, exactly as the server
 * checks it: `sig = base64url(HMAC-SHA256(secret, canonical))` (SPEC §7). An
 * existing `sig` is replaced. Computed locally with Web Crypto.
 */
export async function signLiveUrl(url: string | URL, secret: string, opts: SignOptions = {}): Promise<string> {
  const u = new URL(url);
  u.searchParams.delete('sig');
  if (opts.expiresAt !== undefined) {
    const exp = opts.expiresAt instanceof Date ? Math.floor(opts.expiresAt.getTime() / 1000) : Math.floor(opts.expiresAt);
    u.searchParams.set('exp', String(exp));
  }
  const signature = await hmacSha256(utf8(secret), liveCanonicalString(u.pathname, u.searchParams.entries()));
  u.searchParams.set('sig', toBase64Url(signature));
  return u.toString();
}
