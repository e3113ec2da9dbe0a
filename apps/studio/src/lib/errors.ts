import { BanatieError } from '@banatie/sdk';

/** What to tell a person about a failed call: the server's message, made plain for the usual cases. */
export function describeError(err: unknown): string {
  if (err instanceof BanatieError) {
    if (err.status === 401) return 'This API key was not accepted';
    if (needsAdminKey(err)) return 'This action needs an admin key: this one is a standard key';
    if (err.status === 413) return 'File too large: the limit is 5 MB';
    if (err.status === 415) return 'Unsupported file type: only PNG, JPEG and WebP images are accepted';
    if (err.code === 'ALIAS_CONFLICT') return `${err.message}: another image holds this alias (remove it there first)`;
    if (err.status === 429) return `Too many requests${err.retryAfter ? `: try again in ${err.retryAfter} s` : ''}`;
    if (err.status >= 500) return `The server failed (${err.message})${err.requestId ? `, request id ${err.requestId}` : ''}`;
    return err.message;
  }
  if (err instanceof DOMException && err.name === 'AbortError') return 'Cancelled';
  if (err instanceof TypeError) return 'The server could not be reached';
  return err instanceof Error ? err.message : String(err);
}

export const isUnauthorized = (err: unknown): boolean => err instanceof BanatieError && err.status === 401;

/** A 403 because the key is a standard key (SPEC §16), told by `details.reason`, not by the message. */
export const needsAdminKey = (err: unknown): boolean =>
  err instanceof BanatieError && err.status === 403 && (err.details as { reason?: unknown } | undefined)?.reason === 'ADMIN_KEY_REQUIRED';
