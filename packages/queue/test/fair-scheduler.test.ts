// Renormalisation of the fair tags (fair-scheduler.ts) on a real Redis with real BullMQ.
import { TEST_REDIS_URL, testQueuePrefix } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAIR_RENORMALISE_AT, INTERACTIVE_HEAD_START, fairPriority } from '../src/fair-scheduler.js';
import { createRedis, waitForRedis, type RedisClient } from '../src/redis.js';
import { PROJECT_B, expectRenormalisedLike, runRenormaliseScenario } from './fair-renormalise.js';

const opened: RedisClient[] = [];
const open = (role: 'producer' | 'worker') => {
  const client = createRedis({ redisUrl: TEST_REDIS_URL }, role);
  opened.push(client);
  return client;
};

afterAll(() => {
  for (const client of opened) client.disconnect();
});

describe('fair tags renormalise while the queue never drains', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = open('producer');
    await waitForRedis(redis, 5000);
  });

  it('shifts every tag down by V − 1 without changing the order (prioritized, delayed, running, last tags, V)', async () => {
    const reference = await runRenormaliseScenario(redis, () => open('worker'), testQueuePrefix(), FAIR_RENORMALISE_AT);
    const shifted = await runRenormaliseScenario(redis, () => open('worker'), testQueuePrefix(), 10);
    expectRenormalisedLike(shifted, reference);
  });

  it('a priority that would drop below its lane is clamped there (1 plain, 2 interactive), never 0', async () => {
    const prefix = testQueuePrefix();
    const q = (type: string) => `${prefix}:generations:${type}`;
    // An old retry (plain, tag 5) and an old interactive job (tag 3) parked in delayed, and a head at tag 500.
    await redis.hset(q('old-plain'), 'priority', 2 * (5 + INTERACTIVE_HEAD_START) + 1);
    await redis.hset(q('old-interactive'), 'priority', 6);
    await redis.zadd(q('delayed'), 1, 'old-plain', 2, 'old-interactive');
    await redis.hset(q('head'), 'priority', 1000);
    await redis.zadd(q('prioritized'), 1000 * 2 ** 32 + 7, 'head');
    const b = await fairPriority(redis, prefix, PROJECT_B, true, 10);
    expect(await redis.hget(q('old-plain'), 'priority')).toBe('1');
    expect(await redis.hget(q('old-interactive'), 'priority')).toBe('2');
    // The head (tag 500) is now tag 1: priority 2, its counter kept; B's interactive job (tag V = 1) ties with it.
    expect(await redis.zscore(q('prioritized'), 'head')).toBe(String(2 * 2 ** 32 + 7));
    expect(await redis.hget(q('head'), 'priority')).toBe('2');
    expect(b).toEqual({ priority: 2, ahead: 1 });
  });
});

describe('a burst of submits on an empty queue', () => {
  it("keeps the burst's tags consecutive, so another project's job is next but one, not behind the whole burst", async () => {
    const redis = open('producer');
    await waitForRedis(redis, 5000);
    const prefix = testQueuePrefix();
    const projectA = '00000000-0000-4000-8000-0000000000a1';
    const projectB = '00000000-0000-4000-8000-0000000000b1';
    // Every script of the burst runs before any of its jobs is added: each finds the queue empty.
    const burst = await Promise.all(Array.from({ length: 20 }, () => fairPriority(redis, prefix, projectA, false)));
    const priorities = burst.map((b) => b.priority).sort((x, y) => x - y);
    expect(new Set(priorities).size).toBe(20);
    // Then the jobs land in BullMQ's prioritized set (score = priority × 2^32 + counter), and B submits.
    await redis.zadd(`${prefix}:generations:prioritized`, ...priorities.flatMap((p, i) => [p * 2 ** 32 + i + 1, `a-${i}`]));
    const b = await fairPriority(redis, prefix, projectB, false);
    // Ahead of B: A's job at the head (V) and A's job with B's own tag, which was queued first.
    expect(b.ahead).toBe(2);
    expect(b.priority).toBe(priorities[1]);
  });
});
