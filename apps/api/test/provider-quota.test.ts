import { processGeneration, QuotaWaitError, systemClock, type ImageProvider, type ProviderQuota } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { createGenerationQueue, createProviderQuota, createRedis, generationJobId, waitForRedis, type RedisClient } from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import { LocalImageProvider } from '@banatie/providers';
import { TEST_REDIS_URL, testQueuePrefix } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/runtime.js';
import { startStack, waitForTerminal, type Stack } from './harness.js';

const logger = createLogger({ level: 'silent' });

describe('ProviderQuota on Redis (PROVIDER_RATE_LIMITS and 429 pauses, shared by every worker)', () => {
  let redis: RedisClient;
  beforeAll(async () => {
    redis = createRedis({ redisUrl: TEST_REDIS_URL }, 'producer');
    await waitForRedis(redis, 5000);
  });
  afterAll(() => redis.disconnect());

  it('takes up to the per-minute limit across instances, then says how long to wait', async () => {
    const prefix = testQueuePrefix();
    const a = createProviderQuota(redis, prefix, { 'img-model': 2 });
    const b = createProviderQuota(redis, prefix, { 'img-model': 2 });
    expect(await a.take('img-model')).toBe(0);
    expect(await b.take('img-model')).toBe(0);
    const wait = await a.take('img-model');
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60_000);
    // A model without a limit is not counted.
    for (let i = 0; i < 5; i++) expect(await a.take('other-model')).toBe(0);
    // Its keys live under the deployment's prefix, in one hash tag per model.
    expect(await redis.exists(`${prefix}:{quota:img-model}:calls`)).toBe(1);
  });

  it('a pause stops every instance calling that model (only that one), and is never shortened', async () => {
    const prefix = testQueuePrefix();
    const a = createProviderQuota(redis, prefix, {});
    const b = createProviderQuota(redis, prefix, {});
    await a.pause('img-model', 30_000);
    await a.pause('img-model', 1_000);
    const wait = await b.take('img-model');
    expect(wait).toBeGreaterThan(20_000);
    expect(await b.take('text-model')).toBe(0);
    expect(await redis.pttl(`${prefix}:{quota:img-model}:pause`)).toBeGreaterThan(20_000);
  });
});

describe('a run waiting for quota', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: false });
  });
  afterAll(async () => stack?.close());

  it('is back to pending, flagged, with no attempt spent and no model called', async () => {
    const sub = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'wait for it' } });
    const id = sub.json().data.id;
    const local = new LocalImageProvider();
    const calls: string[] = [];
    const provider: ImageProvider = {
      name: 'local',
      models: local.models,
      enhancePrompt: async (req) => (calls.push('text'), local.enhancePrompt(req)),
      generateImage: async (req) => (calls.push('image'), local.generateImage(req)),
    };
    const denied: string[] = [];
    // The image model has quota, the text model (prompt enhancement) has none.
    const quota: ProviderQuota = {
      take: async (model) => (model === local.models.text ? (denied.push(model), 4_000) : 0),
      pause: async () => undefined,
    };
    const deps = { db: stack.db, storage: createObjectStorage(stack.config.storage), clock: systemClock, logger, imageProvider: provider, quota };
    const err = await processGeneration(deps, { generationId: id, run: 0, isFinalAttempt: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaWaitError);
    expect((err as QuotaWaitError).waitMs).toBe(4_000);
    expect(denied).toEqual([local.models.text]);
    expect(calls).toEqual([]);
    const row = await stack.db.selectFrom('generations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', waiting_for_quota: true, attempts: 0 });
  });

  it("takes the quota of the generation's own model, which its queued job carries", async () => {
    const model = 'gemini-3-pro-image-preview';
    const sub = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'a pro image', model, autoEnhance: false } });
    expect(sub.statusCode).toBe(202);
    const id = sub.json().data.id;
    const queue = createGenerationQueue(stack.deps.redis, stack.config.queuePrefix, 1);
    const job = await queue.getJob(generationJobId({ generationId: id, run: 0 }));
    await queue.close();
    expect(job?.data.model).toBe(model);
    const asked: string[] = [];
    const quota: ProviderQuota = { take: async (m) => (asked.push(m), 3_000), pause: async () => undefined };
    const local = new LocalImageProvider();
    const deps = { db: stack.db, storage: createObjectStorage(stack.config.storage), clock: systemClock, logger, imageProvider: local, quota };
    const err = await processGeneration(deps, { generationId: id, run: 0, model: job!.data.model, isFinalAttempt: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaWaitError);
    expect((err as QuotaWaitError).model).toBe(model);
    expect(asked).toEqual([model]);
    expect(asked).not.toContain(local.models.image);
  });
});

describe('a 429 storm with three workers (real SDK, fake Gemini)', () => {
  let stack: Stack;
  const extra: WorkerRuntime[] = [];
  beforeAll(async () => {
    stack = await startStack({ provider: 'gemini', env: { WORKER_CONCURRENCY: '2' } });
    for (let i = 0; i < 2; i++) extra.push(await startWorkerRuntime(stack.config, logger));
  });
  afterAll(async () => {
    for (const w of extra) await w.close(10_000);
    await stack?.close();
  });

  it('pauses every worker for the RetryInfo delay, spends no attempt, and every generation succeeds', async () => {
    const SLOTS = 3 * 2;
    const stormEnds = stack.fake!.rateLimitFor(1500, '1.5s');
    const ids: string[] = [];
    for (let i = 0; i < 4 * SLOTS; i++) {
      const res = await stack.app.inject({
        method: 'POST',
        url: '/api/v1/generations',
        headers: { 'x-api-key': stack.key.key },
        payload: { prompt: `storm ${i}`, autoEnhance: false },
      });
      ids.push(res.json().data.id);
    }
    const done = await Promise.all(ids.map((id) => waitForTerminal(stack, id)));
    for (const g of done) expect(g).toMatchObject({ status: 'success', attempts: 1, error: null });
    const image = stack.fake!.requests.filter((r) => r.model.includes('image'));
    const limited = image.filter((r) => r.receivedAt < stormEnds);
    // Only calls already under way when the first 429 came back meet the storm (one per worker slot at most):
    // every worker then leaves the model alone for the delay, instead of each job trying and failing in turn.
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(SLOTS);
    expect(image).toHaveLength(ids.length + limited.length);
  });
});
