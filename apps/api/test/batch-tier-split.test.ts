import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createLogger } from '@banatie/logger';
import { runProviderBatchTick, systemClock, type ImageBatchProvider } from '@banatie/core';
import { GeminiImageProvider } from '@banatie/providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { upload } from './image-helpers.js';

/** A provider batch stays within the Batch API's inline size limit: what does not fit waits for the next job. */

let stack: Stack;
beforeAll(async () => {
  // No worker: the test runs the batch tick itself.
  stack = await startStack({ provider: 'gemini', worker: false });
});
afterAll(async () => stack?.close());

describe('provider batch inline limit', () => {
  it('splits the waiting items into jobs under the inline limit', async () => {
    // Noise, so the PNG is as big as its pixels (~270 KB) and the JSON around a request is small beside it.
    const noise = await sharp(randomBytes(300 * 300 * 3), { raw: { width: 300, height: 300, channels: 3 } }).png().toBuffer();
    const ref = await upload(stack, { flowId: 'null', alias: '@big' }, { data: noise });
    expect(ref.statusCode).toBe(201);
    const refBytes = ref.json().data.fileSize as number;
    const items = ['one', 'two', 'three'].map((p) => ({ prompt: `split ${p}`, autoEnhance: false, referenceImages: ['@big'] }));
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/batches', headers: { 'x-api-key': stack.key.key }, payload: { items, tier: 'batch' } });
    expect(res.statusCode).toBe(202);

    const provider = new GeminiImageProvider({ apiKey: 'test-key', baseUrl: stack.fake!.baseUrl, imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 5000 });
    const submitted: number[] = [];
    const batchProvider: ImageBatchProvider = {
      submitBatch: (model, name, requests) => {
        submitted.push(requests.length);
        return provider.batch.submitBatch(model, name, requests);
      },
      findBatch: (name) => provider.batch.findBatch(name),
      getBatch: (name) => provider.batch.getBatch(name),
    };
    const deps = {
      db: stack.db,
      storage: stack.deps.storage,
      imageProvider: provider,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      batchProvider,
      intervalMs: 0,
      maxItems: 10,
      pollMs: 60_000,
      submitLeaseMs: 60_000,
      // Two and a half inlined references: two fit, three do not.
      maxInlineBytes: Math.ceil((refBytes * 4 * 2.5) / 3),
    };
    await runProviderBatchTick(deps);
    expect(submitted).toEqual([2]);
    const waiting = await stack.db.selectFrom('generations').select(['original_prompt', 'status', 'gemini_batch_id']).where('gemini_batch_id', 'is', null).where('provider_batch', '=', true).execute();
    // The three items share one created_at (one transaction): which one waits is the id order's choice.
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({ status: 'pending', gemini_batch_id: null });
    expect(['split one', 'split two', 'split three']).toContain(waiting[0]!.original_prompt);
    await runProviderBatchTick(deps);
    expect(submitted).toEqual([2, 1]);
    expect(stack.fake!.batches.map((b) => b.requests.length)).toEqual([2, 1]);
  });
});
