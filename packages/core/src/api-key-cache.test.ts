import { describe, expect, it } from 'vitest';
import { ApiKeyCache } from './api-key-cache.js';
import type { AuthContext } from './auth.js';

function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

const auth = (keyId: string): AuthContext => ({
  keyId,
  type: 'project',
  role: 'standard',
  projectId: 'p',
  organizationId: 'o',
  orgSlug: 'acme',
  projectSlug: 'site',
});

describe('ApiKeyCache', () => {
  it('serves an entry until its TTL passes', () => {
    const clock = fakeClock();
    const cache = new ApiKeyCache({ ttlMs: 1000, maxEntries: 10, clock });
    cache.set('h1', auth('k1'), null, cache.epoch);
    clock.advance(999);
    expect(cache.get('h1')?.auth.keyId).toBe('k1');
    clock.advance(1);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('revoke drops every entry of that key and nothing else', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, maxEntries: 10, clock: fakeClock() });
    cache.set('h1', auth('k1'), null, cache.epoch);
    cache.set('h2', auth('k2'), null, cache.epoch);
    cache.revoke('k1');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')?.auth.keyId).toBe('k2');
  });

  it('does not cache a lookup that started before a revocation or a clear', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, maxEntries: 10, clock: fakeClock() });
    const before = cache.epoch;
    cache.revoke('k1'); // arrives while the lookup of k1 is in flight
    cache.set('h1', auth('k1'), null, before);
    expect(cache.get('h1')).toBeUndefined();
    const beforeClear = cache.epoch;
    cache.clear();
    cache.set('h2', auth('k2'), null, beforeClear);
    expect(cache.size).toBe(0);
  });

  it('stays within maxEntries by dropping the oldest entry', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, maxEntries: 2, clock: fakeClock() });
    cache.set('h1', auth('k1'), null, cache.epoch);
    cache.set('h2', auth('k2'), null, cache.epoch);
    cache.set('h3', auth('k3'), null, cache.epoch);
    expect(cache.size).toBe(2);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h3')?.auth.keyId).toBe('k3');
  });

  it('keeps the key expiry with the entry', () => {
    const cache = new ApiKeyCache({ ttlMs: 60_000, maxEntries: 2, clock: fakeClock() });
    const expiresAt = new Date(Date.UTC(2026, 0, 2));
    cache.set('h1', auth('k1'), expiresAt, cache.epoch);
    expect(cache.get('h1')?.expiresAt).toEqual(expiresAt);
  });
});
