import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createLogger } from '@banatie/logger';
import { ProviderError, runProviderBatchTick, systemClock, type ImageBatchProvider, type ProviderBatchDeps } from '@banatie/core';
import { GeminiImageProvider } from '@banatie/providers';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { upload } from './image-helpers.js';

/**
 * A provider batch's size: up to the Batch API's inline limit the requests go inlined,
 * beyond it as one uploaded JSONL file; only past the file limit does what does not fit
 * wait for the next job.
 */

let stack: Stack;
let refBytes: number;
beforeAll(async () => {
  // No worker: the test runs the batch tick itself.
  stack = await startStack({ provider: 'gemini', worker: false });
  // Noise, so the PNG is as big as its pixels (~270 KB) and the JSON around a request is small beside it.
  const noise = await sharp(randomBytes(300 * 300 * 3), { raw: { width: 300, height: 300, channels: 3 } }).png().toBuffer();
  const ref = await upload(stack, { flowId: 'null', alias: '@big' }, { data: noise });
  expect(ref.statusCode).toBe(201);
  refBytes = ref.json().data.fileSize as number;
});
afterAll(async () => stack?.close());
beforeEach(async () => {
  stack.fake!.reset();
  await stack.db.deleteFrom('gemini_batches').execute();
});

/** Two and a half inlined references: two fit, three do not. */
const twoAndAHalfReferences = () => Math.ceil((refBytes * 4 * 2.5) / 3);

async function postThree(label: string): Promise<string[]> {
  const items = ['one', 'two', 'three'].map((p) => ({ prompt: `${label} ${p}`, autoEnhance: false, referenceImages: ['@big'] }));
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/batches', headers: { 'x-api-key': stack.key.key }, payload: { items, tier: 'batch' } });
  expect(res.statusCode).toBe(202);
  return res.json().data.generationIds as string[];
}

function tickDeps(provider: GeminiImageProvider, batchProvider: ImageBatchProvider, maxBatchBytes?: number): ProviderBatchDeps {
  return {
    db: stack.db,
    storage: stack.deps.storage,
    imageProvider: provider,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    batchProvider,
    intervalMs: 0,
    maxItems: 10,
    pollMs: 0,
    submitLeaseMs: 60_000,
    maxBatchBytes,
  };
}

const gemini = (batchInlineBytes?: number) =>
  new GeminiImageProvider({ apiKey: 'test-key', baseUrl: stack.fake!.baseUrl, imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 5000, batchInlineBytes });

describe('provider batch size limits', () => {
  it('beyond the batch limit (the input file limit) the rest waits for the next job', async () => {
    await postThree('split');
    const provider = gemini();
    const submitted: number[] = [];
    const batchProvider: ImageBatchProvider = {
      submitBatch: (model, name, requests) => {
        submitted.push(requests.length);
        return provider.batch.submitBatch(model, name, requests);
      },
      findBatch: (name) => provider.batch.findBatch(name),
      getBatch: (name) => provider.batch.getBatch(name),
    };
    const deps = tickDeps(provider, batchProvider, twoAndAHalfReferences());
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
    // Under the inline limit: inlined, no file.
    expect(stack.fake!.batches.map((b) => b.inputFile)).toEqual([null, null]);
  });

  it('beyond the inline limit: one Gemini batch from an uploaded file, results read from its results file, nothing created twice', async () => {
    const ids = await postThree('file');
    const provider = gemini(twoAndAHalfReferences());
    let submits = 0;
    const batchProvider: ImageBatchProvider = {
      // The first answer is lost (the worker "dies" after Gemini created the job): the retry must find it, not create another.
      submitBatch: async (model, name, requests) => {
        submits++;
        const created = await provider.batch.submitBatch(model, name, requests);
        if (submits === 1) throw new ProviderError('PROVIDER_UNAVAILABLE', 'the answer was lost', true);
        return created;
      },
      findBatch: (name) => provider.batch.findBatch(name),
      getBatch: (name) => provider.batch.getBatch(name),
    };
    const deps = tickDeps(provider, batchProvider);
    await runProviderBatchTick(deps);
    expect(stack.fake!.batches).toHaveLength(1);
    const job = stack.fake!.batches[0]!;
    expect(job.inputFile).toMatch(/^files\//);
    expect(job.requests.map((r) => r.key).sort()).toEqual([...ids].sort());
    expect(job.requests.every((r) => r.request.contents?.[0]?.parts?.[1]?.inlineData?.data?.length === Math.ceil(refBytes / 3) * 4)).toBe(true);
    const [row] = await stack.db.selectFrom('gemini_batches').selectAll().execute();
    expect(row).toMatchObject({ state: 'submitting', name: null });

    // The lease ends; the next attempt finds the job by its display name.
    await stack.db.updateTable('gemini_batches').set({ lease_until: new Date(0) }).where('id', '=', row!.id).execute();
    await runProviderBatchTick(deps);
    expect(submits).toBe(1);
    expect(stack.fake!.batches).toHaveLength(1);
    expect([...stack.fake!.files.values()].filter((f) => f.mimeType === 'jsonl')).toHaveLength(1);
    expect((await stack.db.selectFrom('gemini_batches').select(['state', 'name']).executeTakeFirstOrThrow())).toEqual({ state: 'running', name: job.name });

    // Per-item outcomes by the file's line order: an image, a refused image, a rejected request.
    stack.fake!.script({ kind: 'image' }, { kind: 'safety', level: 'candidate' }, { kind: 'error', status: 400, message: 'bad line' });
    await stack.fake!.finishBatches();
    expect(job.responsesFile).toMatch(/^files\//);
    await runProviderBatchTick(deps);
    const [imaged, refused, rejected] = await Promise.all(job.requests.map((r) => waitForTerminal(stack, r.key!)));
    expect(imaged).toMatchObject({ status: 'success' });
    expect(imaged.outputImage).not.toBeNull();
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'CONTENT_BLOCKED' } });
    expect(rejected).toMatchObject({ status: 'failed', error: { code: 'PROVIDER_REJECTED' } });
    expect(rejected.error.message).toContain('bad line');
    expect((await stack.db.selectFrom('gemini_batches').select('state').executeTakeFirstOrThrow()).state).toBe('succeeded');

    // Usage from each line's usageMetadata, recorded per item at the batch tier (a refused answer is billed too; an error line has none).
    const records = await stack.db.selectFrom('usage_records').select(['generation_id', 'source', 'tier', 'input_tokens']).where('generation_id', 'in', ids).execute();
    expect(records.map((r) => r.generation_id).sort()).toEqual([imaged.id, refused.id].sort());
    expect(records.every((r) => r.source === 'batch' && r.tier === 'batch' && Number(r.input_tokens) > 258)).toBe(true);
    expect(imaged.usage).toMatchObject({ providerCalls: 1 });
    // Nothing went through generateContent.
    expect(stack.fake!.requests.filter((r) => r.model.includes('image'))).toHaveLength(0);
  });
});
