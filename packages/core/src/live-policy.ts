import { DEFAULT_LIVE_POLICY, type LivePolicy } from '@banatie/contracts';
import type { StoredLivePolicy } from '@banatie/db';
import { ValidationError } from './errors.js';
import { normalizeAllowedOrigin } from './live-origins.js';

export type { LivePolicy } from '@banatie/contracts';

/** The policy in force: what the owner set, the defaults of SPEC §11 for the rest. */
export function resolveLivePolicy(stored: StoredLivePolicy | null | undefined): LivePolicy {
  const d = DEFAULT_LIVE_POLICY;
  return {
    enabled: stored?.enabled ?? d.enabled,
    autoCreateScopes: stored?.autoCreateScopes ?? d.autoCreateScopes,
    scopeDefaults: {
      allowNewGenerations: stored?.scopeDefaults?.allowNewGenerations ?? d.scopeDefaults.allowNewGenerations,
      newGenerationsLimit: stored?.scopeDefaults?.newGenerationsLimit ?? d.scopeDefaults.newGenerationsLimit,
      allowedOrigins: [...(stored?.scopeDefaults?.allowedOrigins ?? d.scopeDefaults.allowedOrigins)],
      requireSignature: stored?.scopeDefaults?.requireSignature ?? d.scopeDefaults.requireSignature,
    },
    maxScopes: stored?.maxScopes ?? d.maxScopes,
    newGenerationsPerDay: stored?.newGenerationsPerDay === undefined ? d.newGenerationsPerDay : stored.newGenerationsPerDay,
  };
}

/**
 * The stored policy after a `PUT /api/v1/project` `live` patch: given fields
 * replace stored ones (`scopeDefaults` field by field), `null` restores every
 * default. Allowed origins are normalised like a scope's.
 */
export function mergeLivePolicy(stored: StoredLivePolicy | null | undefined, patch: StoredLivePolicy | null): StoredLivePolicy | null {
  if (patch === null) return null;
  const merged: StoredLivePolicy = { ...stored, ...withoutUndefined(patch) };
  if (patch.scopeDefaults) {
    merged.scopeDefaults = { ...stored?.scopeDefaults, ...withoutUndefined(patch.scopeDefaults) };
    if (patch.scopeDefaults.allowedOrigins) merged.scopeDefaults.allowedOrigins = normalizeOrigins(patch.scopeDefaults.allowedOrigins);
  }
  return merged;
}

function normalizeOrigins(values: string[]): string[] {
  const out: string[] = [];
  for (const [i, value] of values.entries()) {
    const origin = normalizeAllowedOrigin(value);
    if (!origin) {
      throw new ValidationError(`Invalid origin: ${value}`, [
        { path: `live.scopeDefaults.allowedOrigins.${i}`, message: 'must be scheme://host[:port], optionally https://*.domain' },
      ]);
    }
    if (!out.includes(origin)) out.push(origin);
  }
  return out;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The UTC day a daily budget counts in, `YYYY-MM-DD`. */
export function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}
