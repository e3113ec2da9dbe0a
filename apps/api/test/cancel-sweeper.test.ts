import { createStatusNotifier, sweepGenerations, systemClock, webhookMessageId, type SweeperDeps } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import {
  MAX_STALLED_COUNT,
  createGenerationQueue,
  createJobQueue,
  createRedis,
  createStatusBroadcast,
  createWebhookQueue,
  generationJobId,
  type GenerationQueue,
  type RedisClient,
  type WebhookQueue,
} from '@banatie/queue';
import { startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSweeper } from '../../worker/src/sweeper.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/runtime.js';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { startVanishingWorker } from './vanishing-worker.js';

const silent = createLogger({ level: 'silent' });

let stack: Stack;
let receiver: WebhookReceiver;
let redis: RedisClient;
let queue: GenerationQueue;
let webhooks: WebhookQueue;
let sweeperDeps: SweeperDeps;
let runtime: WorkerRuntime | undefined;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  // No worker yet: jobs stay queued until a test starts one.
  stack = await startStack({ worker: false, provider: 'gemini', env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' } });
  redis = createRedis(stack.config, 'producer');
  queue = createGenerationQueue(redis, stack.config.queuePrefix, stack.config.worker.attempts);
  webhooks = createWebhookQueue(redis, stack.config.queuePrefix, stack.config.webhook.retryBaseMs);
  const jobs = createJobQueue({ generations: queue, webhooks });
  sweeperDeps = {
    db: stack.db,
    queue: jobs,
    clock: systemClock,
    logger: silent,
    onStatusChange: createStatusNotifier({ broadcast: createStatusBroadcast(redis, stack.config.queuePrefix), jobs }),
  };
});

afterAll(async () => {
  await runtime?.close(10_000);
  await queue?.close();
  await webhooks?.close();
  redis?.disconnect();
  await stack?.close();
  await receiver?.close();
});

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().data.id;
}

const backdate = (id: string, status?: 'processing' | 'success') =>
  stack.db
    .updateTable('generations')
    .set({ updated_at: new Date(Date.now() - 120_000), ...(status ? { status } : {}) })
    .where('id', '=', id)
    .execute();

const jobOf = (id: string) => queue.getJob(generationJobId({ generationId: id, run: 0 }));

describe('cancel and sweeper, then one worker settles everything', () => {
  let cancelledId: string;
  let orphanId: string;
  let stalledId: string;
  let lostWebhookId: string;

  it('cancel of a pending generation: cancelled at once, its job removed', async () => {
    cancelledId = await submit({ prompt: 'never generate this', webhookUrl: `${receiver.url}/cancelled` });
    expect(await jobOf(cancelledId)).toBeDefined();
    const res = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${cancelledId}/cancel`, headers: { 'x-api-key': stack.key.key } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id: cancelledId, status: 'cancelled', outputImageId: null });
    expect(res.json().data.completedAt).toEqual(expect.any(String));
    expect(await jobOf(cancelledId)).toBeUndefined();
    const again = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${cancelledId}/cancel`, headers: { 'x-api-key': stack.key.key } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
  });

  it('sweeper re-enqueues a pending row whose job is gone', async () => {
    orphanId = await submit({ prompt: 'orphaned row', webhookUrl: `${receiver.url}/orphan` });
    await queue.remove(generationJobId({ generationId: orphanId, run: 0 }));
    expect(await jobOf(orphanId)).toBeUndefined();
    // A fresh row is left alone (its submit may still be enqueueing).
    expect((await sweepGenerations(sweeperDeps, { staleAfterMs: 60_000 })).requeued).not.toContain(orphanId);
    await backdate(orphanId);
    const report = await sweepGenerations(sweeperDeps, { staleAfterMs: 60_000 });
    expect(report.requeued).toEqual([orphanId]);
    // Queued at its place in the fair order: BullMQ keeps a job with a priority in its prioritized set.
    expect(await (await jobOf(orphanId))!.getState()).toBe('prioritized');
  });

  it('sweeper fails a processing row whose job stalled out', async () => {
    stalledId = await submit({ prompt: 'stalled job', webhookUrl: `${receiver.url}/stalled` });
    // Its workers keep dying, and BullMQ fails the job without the processor settling the row.
    // Only the stalled job is waiting at this point besides the orphan: take it out of the way for a moment.
    const orphanJob = (await jobOf(orphanId))!;
    await orphanJob.remove();
    const vanishing = startVanishingWorker(stack.config, stalledId);
    const job = await vanishing.failed;
    await vanishing.close();
    expect(job.stalledCounter).toBeGreaterThan(MAX_STALLED_COUNT);
    await backdate(stalledId, 'processing');
    const report = await sweepGenerations(sweeperDeps, { staleAfterMs: 60_000 });
    expect(report.failed).toContain(stalledId);
    expect(report.requeued).toEqual([orphanId]);
    const row = await stack.db.selectFrom('generations').selectAll().where('id', '=', stalledId).executeTakeFirstOrThrow();
    expect({ status: row.status, code: row.error_code, message: row.error_message }).toEqual({
      status: 'failed',
      code: 'INTERNAL_ERROR',
      message: 'The worker processing this generation stopped responding',
    });
  });

  it('sweeper re-queues the webhook of a terminal generation that has no recorded attempt', async () => {
    lostWebhookId = await submit({ prompt: 'webhook lost in a crash', webhookUrl: `${receiver.url}/lost` });
    await queue.remove(generationJobId({ generationId: lostWebhookId, run: 0 }));
    await backdate(lostWebhookId, 'success');
    const report = await sweepGenerations(sweeperDeps, { staleAfterMs: 60_000 });
    expect(report.webhooksRequeued).toContain(lostWebhookId);
    const job = await webhooks.getJob(webhookMessageId({ generationId: lostWebhookId, run: 0, event: 'generation.succeeded' }));
    expect(job).toBeDefined();
  });

  it('only one sweeper runs per interval across workers', async () => {
    const opts = { redis, prefix: `${stack.config.queuePrefix}:locktest`, intervalMs: 60_000, staleAfterMs: 60_000 };
    const a = startSweeper(sweeperDeps, opts);
    const b = startSweeper(sweeperDeps, opts);
    try {
      const results = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(results.filter(Boolean)).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a worker then runs the orphan once, sends every webhook, and never calls Gemini for the cancelled one', async () => {
    runtime = await startWorkerRuntime(stack.config, silent);
    const done = await waitForTerminal(stack, orphanId);
    expect(done.status).toBe('success');
    const freshId = await submit({ prompt: 'a fresh one after the cancel' });
    expect((await waitForTerminal(stack, freshId)).status).toBe('success');

    const [cancelled] = await receiver.waitFor(1, '/cancelled');
    expect(JSON.parse(cancelled!.body)).toMatchObject({ type: 'generation.cancelled', data: { id: cancelledId, status: 'cancelled' } });
    const [stalled] = await receiver.waitFor(1, '/stalled');
    expect(JSON.parse(stalled!.body)).toMatchObject({ type: 'generation.failed', data: { id: stalledId, status: 'failed' } });
    const [lost] = await receiver.waitFor(1, '/lost');
    expect(JSON.parse(lost!.body)).toMatchObject({ type: 'generation.succeeded', data: { id: lostWebhookId } });
    const [orphan] = await receiver.waitFor(1, '/orphan');
    expect(JSON.parse(orphan!.body)).toMatchObject({ type: 'generation.succeeded', data: { id: orphanId, status: 'success' } });

    const prompts = stack.fake!.requests.map((r) => r.text);
    expect(prompts.some((t) => t.includes('never generate this'))).toBe(false);
    expect(prompts.some((t) => t.includes('a fresh one after the cancel'))).toBe(true);
    const cancelledRow = await stack.db.selectFrom('generations').select(['status', 'attempts']).where('id', '=', cancelledId).executeTakeFirstOrThrow();
    expect(cancelledRow).toEqual({ status: 'cancelled', attempts: 0 });
  });
});
