import { createHash, randomBytes } from 'node:crypto';
import type { KeyRole } from '@banatie/contracts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_PATTERN = /^bnt_[0-9A-Za-z]{40}$/;
export { SLUG_PATTERN } from '@banatie/contracts';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: reject the tail so every character is equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `bnt_${randomBase62(40)}`;
  return { key, prefix: key.slice(0, 12), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export function generateLiveSigningSecret(): string {
  return `lss_${randomBytes(32).toString('base64url')}`;
}

export interface AuthContext {
  keyId: string;
  type: 'master' | 'project';
  /** Master keys are always `admin`. */
  role: KeyRole;
  projectId: string | null;
  organizationId: string | null;
  orgSlug: string | null;
  projectSlug: string | null;
}

/** Authenticated project key: the tenant every /api/v1 request is scoped to. */
export interface ProjectContext {
  keyId: string;
  projectId: string;
  organizationId: string;
  orgSlug: string;
  projectSlug: string;
}
