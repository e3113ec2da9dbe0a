import { MAX_WAIT_SECONDS } from '@banatie/contracts';

/** `Prefer: wait=N` (RFC 7240), N capped at 60; undefined when absent or invalid. */
export function parsePreferWait(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return undefined;
  for (const part of value.split(/[,;]/)) {
    const m = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*$/i.exec(part);
    if (m) return Math.min(Number(m[1]), MAX_WAIT_SECONDS);
  }
  return undefined;
}
