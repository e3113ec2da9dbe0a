import type { AuthContext } from './auth.js';
import type { Clock } from './ports.js';

interface Entry {
  auth: AuthContext;
  expiresAt: Date | null;
  cachedUntil: number;
}

export interface ApiKeyCacheOptions {
  /** How long a verified key is trusted without asking PostgreSQL; the bound when a revocation broadcast is missed. */
  ttlMs: number;
  maxEntries: number;
  clock: Clock;
}

/**
 * Verified API keys by key hash, in process. Only valid keys are kept (unknown
 * keys would let anyone fill it). Revocations arrive by broadcast (`revoke`);
 * a lookup that raced with one is not cached (the epoch moved meanwhile).
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private currentEpoch = 0;

  constructor(private readonly opts: ApiKeyCacheOptions) {}

  /** Take before the database lookup; pass to `set`. */
  get epoch(): number {
    return this.currentEpoch;
  }

  get size(): number {
    return this.entries.size;
  }

  get(keyHash: string): { auth: AuthContext; expiresAt: Date | null } | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.cachedUntil <= this.opts.clock.now().getTime()) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry;
  }

  set(keyHash: string, auth: AuthContext, expiresAt: Date | null, epoch: number): void {
    if (epoch !== this.currentEpoch) return;
    if (this.entries.size >= this.opts.maxEntries && !this.entries.has(keyHash)) {
      // Maps iterate in insertion order: drop the oldest entry.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(keyHash, { auth, expiresAt, cachedUntil: this.opts.clock.now().getTime() + this.opts.ttlMs });
  }

  revoke(keyId: string): void {
    this.currentEpoch++;
    for (const [hash, entry] of this.entries) if (entry.auth.keyId === keyId) this.entries.delete(hash);
  }

  /** After missing broadcasts (subscriber reconnected): trust nothing cached. */
  clear(): void {
    this.currentEpoch++;
    this.entries.clear();
  }
}
