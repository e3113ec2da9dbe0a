import { TEST_REDIS_URL, testQueuePrefix } from '@banatie/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRequestLimits } from '../src/request-limits.js';

const redis = new Redis(TEST_REDIS_URL);
const prefix = testQueuePrefix();
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const limits = createRequestLimits(redis, prefix, {
  buckets: { write: { limit: 100, windowMs: 3_600_000 }, read: { limit: 0, windowMs: 60_000 } },
  authFailuresPerMinute: 3,
});

describe('request limits on Redis', () => {
  it('a request of cost n takes n units; one that would go over takes nothing', async () => {
    const charge = (cost: number) => limits.charge({ client: '192.0.2.1', keyId: 'batch-key', bucket: 'write', cost });
    expect(await charge(30)).toMatchObject({ outcome: 'allowed', limit: 100, remaining: 70 });
    expect(await charge(71)).toMatchObject({ outcome: 'over_limit', remaining: 70 });
    expect(await charge(70)).toMatchObject({ outcome: 'allowed', remaining: 0 });
    const refused = await charge(1);
    expect(refused).toMatchObject({ outcome: 'over_limit', remaining: 0 });
    expect(refused.outcome === 'over_limit' && refused.resetMs).toBeGreaterThan(3_500_000);
  });

  it('a bucket with limit 0 counts nothing', async () => {
    expect(await limits.charge({ client: '192.0.2.1', keyId: 'k', bucket: 'read', cost: 1 })).toEqual({ outcome: 'unlimited', bucket: 'read' });
    expect(await redis.exists(`${prefix}:{ratelimit}:read:k`)).toBe(0);
  });

  it('past the failure limit a client is throttled, whatever its key', async () => {
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await limits.recordAuthFailure('198.51.100.7')).throttled);
    expect(results).toEqual([false, false, false, true]);
    expect(await limits.charge({ client: '198.51.100.7', keyId: 'valid', bucket: 'write', cost: 1 })).toMatchObject({ outcome: 'client_throttled' });
    expect(await redis.exists(`${prefix}:{ratelimit}:write:valid`)).toBe(0);
    expect(await limits.charge({ client: '198.51.100.8', keyId: 'valid', bucket: 'write', cost: 1 })).toMatchObject({ outcome: 'allowed' });
  });
});
