// Every Redis adapter of the service on a real 3-master Redis Cluster (SPEC §14):
// scripts/test.sh starts it (scripts/lib.sh ensure_redis_cluster).
import { redisKeyPrefix } from '@banatie/config';
import type { GenerationStatusEvent } from '@banatie/core';
import { TEST_REDIS_URL, testQueuePrefix, testRedisClusterNodes } from '@banatie/testing';
import { Worker } from 'bullmq';
import type { Cluster } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishApiKeyRevoked, watchApiKeyRevocations } from '../src/api-key-events.js';
import { GenerationEventHub, publishGenerationEvent } from '../src/generation-events.js';
import {
  GENERATION_QUEUE,
  QueueUnavailableError,
  createGenerationQueue,
  enqueueGeneration,
  generationJobId,
  type GenerationJobData,
} from '../src/generation.queue.js';
import { createProviderQuota } from '../src/provider-quota.js';
import { createRedis, isCluster, waitForRedis, type RedisClient } from '../src/redis.js';
import { createRequestLimits } from '../src/request-limits.js';
import { createSharedState } from '../src/shared-state.js';
import { createStreamSlots } from '../src/stream-slots.js';
import { FAIR_RENORMALISE_AT } from '../src/fair-scheduler.js';
import { expectRenormalisedLike, runRenormaliseScenario } from './fair-renormalise.js';

const target = { redisUrl: TEST_REDIS_URL, redisClusterNodes: testRedisClusterNodes() };
const raw = testQueuePrefix();
const prefix = redisKeyPrefix(raw, true);
const opened: RedisClient[] = [];
const open = (role: 'producer' | 'worker' | 'subscriber') => {
  const client = createRedis(target, role);
  opened.push(client);
  return client;
};
let redis: RedisClient;

/** Every key of this test's prefixes on every master, with its slot. */
async function keysOnCluster(cluster: Cluster, match: string): Promise<{ key: string; node: string; slot: number }[]> {
  const found: { key: string; node: string; slot: number }[] = [];
  for (const node of cluster.nodes('master')) {
    const keys = await node.keys(match);
    for (const key of keys) found.push({ key, node: `${node.options.host}:${node.options.port}`, slot: Number(await node.cluster('KEYSLOT', key)) });
  }
  return found;
}

beforeAll(async () => {
  redis = open('producer');
  await waitForRedis(redis, 10_000);
});

afterAll(async () => {
  if (isCluster(redis)) {
    for (const node of redis.nodes('master')) {
      const keys = await node.keys(`*${raw}*`);
      for (const key of keys) await node.del(key);
    }
  }
  for (const client of opened) client.disconnect();
});

describe('Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  it('the factory gives a Cluster client for every role', () => {
    expect(isCluster(redis)).toBe(true);
    expect(isCluster(createRedis({ redisUrl: TEST_REDIS_URL }, 'producer'))).toBe(false);
  });

  it('locks (compare-and-delete script) and counters (MULTI) of SharedState', async () => {
    const shared = createSharedState(redis, prefix);
    expect(await shared.tryLock('live:lock:p:k', 'me', 5000)).toBe(true);
    expect(await shared.tryLock('live:lock:p:k', 'other', 5000)).toBe(false);
    await shared.unlock('live:lock:p:k', 'other');
    expect(await shared.lockHolder('live:lock:p:k')).toBe('me');
    await shared.unlock('live:lock:p:k', 'me');
    expect(await shared.lockHolder('live:lock:p:k')).toBeNull();
    expect(await shared.increment('live:miss:ip', 60_000)).toBe(1);
    expect(await shared.increment('live:miss:ip', 60_000)).toBe(2);
  });

  it('the two-key rate-limit script, stream slots and the provider quota', async () => {
    const limits = createRequestLimits(redis, prefix, {
      buckets: { write: { limit: 2, windowMs: 60_000 }, read: { limit: 0, windowMs: 60_000 } },
      authFailuresPerMinute: 5,
    });
    const charge = () => limits.charge({ client: '192.0.2.1', keyId: 'k1', bucket: 'write', cost: 1 });
    expect((await charge()).outcome).toBe('allowed');
    expect((await charge()).outcome).toBe('allowed');
    expect((await charge()).outcome).toBe('over_limit');
    expect((await limits.recordAuthFailure('192.0.2.9')).throttled).toBe(false);

    const slots = createStreamSlots(redis, prefix, { max: 1, leaseMs: 10_000 });
    expect(await slots.acquire('k1', 's1')).toBe(true);
    expect(await slots.acquire('k1', 's2')).toBe(false);
    await slots.renew('k1', 's1');
    expect(await slots.count('k1')).toBe(1);
    await slots.release('k1', 's1');
    expect(await slots.count('k1')).toBe(0);

    const quota = createProviderQuota(redis, prefix, { 'model-a': 1 });
    expect(await quota.take('model-a')).toBe(0);
    expect(await quota.take('model-a')).toBeGreaterThan(0);
    await quota.pause('model-b', 30_000);
    expect(await quota.take('model-b')).toBeGreaterThan(20_000);
  });

  it('a generation job goes through BullMQ (producer and worker connections)', async () => {
    const queue = createGenerationQueue(redis, prefix, 1);
    const processed: GenerationJobData[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const worker = new Worker<GenerationJobData>(
      GENERATION_QUEUE,
      async (job) => {
        processed.push(job.data);
        done();
      },
      { connection: open('worker'), prefix },
    );
    try {
      const data = { generationId: randomUUID(), run: 0 };
      await enqueueGeneration(queue, data);
      await enqueueGeneration(queue, data);
      await finished;
      expect(processed).toEqual([data]);
      expect(await queue.getJob(generationJobId(data))).toBeDefined();
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('fair tags renormalise in one script on the cluster (job hashes are on the slot of the hash-tagged prefix)', async () => {
    const reference = await runRenormaliseScenario(redis, () => open('worker'), `${prefix}:fair-ref`, FAIR_RENORMALISE_AT);
    const shifted = await runRenormaliseScenario(redis, () => open('worker'), `${prefix}:fair-shifted`, 10);
    expectRenormalisedLike(shifted, reference);
  });

  it('status events published on any master reach the cluster subscriber (PUBLISH spans the cluster)', async () => {
    const subscriber = open('subscriber');
    const hub = new GenerationEventHub(subscriber, prefix);
    const generationId = randomUUID();
    const projectId = randomUUID();
    const byGeneration: GenerationStatusEvent[] = [];
    const byProject: GenerationStatusEvent[] = [];
    const masters = (redis as Cluster).nodes('master');
    expect(masters).toHaveLength(3);
    let allSeen!: () => void;
    const seen = new Promise<void>((resolve) => (allSeen = resolve));
    const check = () => byGeneration.length === masters.length && byProject.length === masters.length && allSeen();
    const offGeneration = await hub.subscribe(generationId, (e) => (byGeneration.push(e), check()));
    const offProject = await hub.subscribeProject(projectId, (e) => (byProject.push(e), check()));
    const events = masters.map((_, i) => ({ generationId, projectId, status: 'processing', run: i }) as unknown as GenerationStatusEvent);
    // Straight to each master, so at least two of them are not the node the subscriber is on.
    for (const [i, node] of masters.entries()) await publishGenerationEvent(node, prefix, events[i]!);
    await seen;
    // Messages from different nodes have no order between them.
    expect(byGeneration).toEqual(expect.arrayContaining(events));
    expect(byProject).toEqual(expect.arrayContaining(events));
    await offGeneration();
    await offProject();
  });

  it('key revocations reach every API instance on the cluster', async () => {
    const revoked: string[] = [];
    let got!: () => void;
    const arrived = new Promise<void>((resolve) => (got = resolve));
    const watcher = open('subscriber');
    await waitForRedis(watcher);
    watchApiKeyRevocations(watcher, prefix, { onRevoked: (id) => (revoked.push(id), got()), onResubscribed: () => undefined, onError: () => undefined });
    // The subscription is in place once Redis counts it (PUBSUB NUMSUB is per node: ask the node that holds it).
    await expect.poll(async () => publishApiKeyRevoked(redis, prefix, 'key-1').then(() => revoked.length), { timeout: 10_000 }).toBeGreaterThan(0);
    await arrived;
    expect(revoked[0]).toBe('key-1');
  });

  it("all of a deployment's keys are in the one slot of its hash tag, on one master", async () => {
    const found = await keysOnCluster(redis as Cluster, `*${raw}*`);
    expect(found.length).toBeGreaterThan(10);
    const tagSlot = Number(await (redis as Cluster).cluster('KEYSLOT', prefix));
    expect(new Set(found.map((k) => k.slot))).toEqual(new Set([tagSlot]));
    expect(new Set(found.map((k) => k.node)).size).toBe(1);
    expect(found.every((k) => k.key.startsWith(`${prefix}:`))).toBe(true);
  });

  it('without the hash tag BullMQ cannot run on the cluster (why the prefix is tagged)', async () => {
    const queue = createGenerationQueue(redis, `${raw}-untagged`, 1);
    try {
      await expect(queue.add('generate-image', { generationId: randomUUID(), run: 0 })).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await queue.close();
    }
  });

  it('a cluster that cannot be reached is refused at once (503 upstream), never waited for', async () => {
    const down = { redisUrl: TEST_REDIS_URL, redisClusterNodes: [{ host: '127.0.0.1', port: 1 }] };
    const producer = createRedis(down, 'producer');
    const subscriber = createRedis(down, 'subscriber');
    opened.push(producer, subscriber);
    producer.on('error', () => undefined);
    subscriber.on('error', () => undefined);
    const queue = createGenerationQueue(producer, `${prefix}-down`, 1);
    queue.on('error', () => undefined);
    try {
      // SPEC §14: each answered within 3 s.
      const timed = async (p: Promise<unknown>) => {
        const started = Date.now();
        await expect(p).rejects.toBeInstanceOf(QueueUnavailableError);
        return Date.now() - started;
      };
      expect(await timed(enqueueGeneration(queue, { generationId: randomUUID(), run: 0 }))).toBeLessThan(3000);
      expect(await timed(new GenerationEventHub(subscriber, prefix).subscribe(randomUUID(), () => undefined))).toBeLessThan(3000);
    } finally {
      await queue.close().catch(() => undefined);
    }
  });
});
