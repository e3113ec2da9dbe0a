import { BUILT_IN_PRICES, costOf } from '@banatie/core';
import { GoogleGenAI } from '@google/genai';
import { geminiBatchRepository } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/runtime.js';
import { startStack, waitForTerminal, type Stack } from './harness.js';

/**
 * SPEC §13 tier "batch" through the Gemini Batch API, against the fake Gemini: items wait for a
 * provider batch, one job per gathering, settled from its inlined responses; a restarted worker
 * resumes polling; a job created before a crash lost its name is found again, never created twice.
 */

let stack: Stack;
const extraWorkers: WorkerRuntime[] = [];
const BATCH_ENV = { GEMINI_BATCH_INTERVAL_MS: '100', GEMINI_BATCH_POLL_MS: '100', WEBHOOK_ALLOW_PRIVATE: 'true' };

beforeAll(async () => {
  stack = await startStack({ provider: 'gemini', env: BATCH_ENV });
});
afterAll(async () => {
  for (const w of extraWorkers) await w.close(5_000);
  await stack?.close();
});

const postBatch = (body: object) => stack.app.inject({ method: 'POST', url: '/api/v1/batches', headers: { 'x-api-key': stack.key.key }, payload: body });
const providerBatchRows = () => stack.db.selectFrom('gemini_batches').selectAll().orderBy('created_at').execute();
const statuses = async (ids: string[]) =>
  (await stack.db.selectFrom('generations').select(['id', 'status']).where('id', 'in', ids).execute()).map((r) => r.status).sort();

describe('tier batch with the Gemini provider', () => {
  it('gathers the items into one Gemini batch, settles mixed results, the batch reads completed; no generateContent call', async () => {
    const items = ['alpha', 'beta', 'gamma'].map((p) => ({ prompt: `tier ${p}`, autoEnhance: false, model: 'gemini-3-pro-image-preview', imageSize: '2K' }));
    const res = await postBatch({ items, tier: 'batch' });
    expect(res.statusCode).toBe(202);
    const batch = res.json().data;
    expect(batch.tier).toBe('batch');

    await vi.waitFor(async () => expect((await providerBatchRows()).map((r) => r.state)).toEqual(['running']), { timeout: 15_000, interval: 50 });
    const [row] = await providerBatchRows();
    expect(stack.fake!.batches).toHaveLength(1);
    const job = stack.fake!.batches[0]!;
    expect(row!.name).toBe(job.name);
    expect(job.displayName).toBe(row!.id);
    expect(job.model).toBe('gemini-3-pro-image-preview');
    expect(job.requests.map((r) => r.metadata?.key).sort()).toEqual([...batch.generationIds].sort());
    expect(job.requests[0]!.request.generationConfig?.imageConfig).toEqual({ aspectRatio: '1:1', imageSize: '2K' });
    expect(await statuses(batch.generationIds)).toEqual(['processing', 'processing', 'processing']);

    stack.fake!.script({ kind: 'image' }, { kind: 'error', status: 400, message: 'no' }, { kind: 'image' });
    await stack.fake!.finishBatches();
    const finals = await Promise.all(batch.generationIds.map((id: string) => waitForTerminal(stack, id)));
    expect(finals.map((g) => g.status).sort()).toEqual(['failed', 'success', 'success']);
    expect(finals.find((g) => g.status === 'failed').error.code).toBe('PROVIDER_REJECTED');
    expect(finals.filter((g) => g.status === 'success').every((g) => g.outputImage !== null)).toBe(true);
    // Each answered item is billed once, at the batch rate of its own size (2K), recorded as source batch.
    const fullPrice = costOf(BUILT_IN_PRICES, { operation: 'generate_image', model: 'gemini-3-pro-image-preview', imageSize: '2K', tier: 'standard', inputTokens: 0, outputTokens: 0, thoughtTokens: 0, outputImages: 1 });
    for (const g of finals.filter((f) => f.status === 'success')) {
      expect(g.usage.providerCalls).toBe(1);
      expect(g.usage.inputTokens).toBeGreaterThan(0);
      expect(g.usage.costUsd).toBeGreaterThan(0);
      expect(g.usage.costUsd).toBeLessThan(fullPrice);
    }
    const sources = await stack.db.selectFrom('usage_records').select(['source', 'tier', 'image_size']).where('generation_id', 'in', batch.generationIds).execute();
    expect(sources.length).toBeGreaterThanOrEqual(2);
    expect(sources.every((r) => r.source === 'batch' && r.tier === 'batch' && r.image_size === '2K')).toBe(true);
    // Nothing went through the normal path.
    expect(stack.fake!.requests.filter((r) => r.model.includes('image'))).toHaveLength(0);
    await vi.waitFor(async () => expect((await providerBatchRows())[0]!.state).toBe('succeeded'), { timeout: 10_000, interval: 50 });
    const read = (await stack.app.inject({ method: 'GET', url: `/api/v1/batches/${batch.id}`, headers: { 'x-api-key': stack.key.key } })).json().data;
    expect(read).toMatchObject({ status: 'completed', counts: { success: 2, failed: 1 } });

    // Regenerating the failed item runs it through the normal queue, out of its provider batch.
    const failed = finals.find((g) => g.status === 'failed');
    const again = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${failed.id}/regenerate`, headers: { 'x-api-key': stack.key.key } });
    expect(again.statusCode).toBeLessThan(300);
    expect((await waitForTerminal(stack, failed.id)).status).toBe('success');
    expect(stack.fake!.requests.filter((r) => r.model.includes('image'))).toHaveLength(1);
    const regenerated = await stack.db.selectFrom('generations').select(['provider_batch', 'gemini_batch_id']).where('id', '=', failed.id).executeTakeFirstOrThrow();
    expect(regenerated).toEqual({ provider_batch: false, gemini_batch_id: null });
  });

  it('an expired Gemini batch fails its items with BATCH_EXPIRED', async () => {
    stack.fake!.reset();
    await stack.db.deleteFrom('gemini_batches').execute();
    const batch = (await postBatch({ items: [{ prompt: 'too slow', autoEnhance: false }], tier: 'batch' })).json().data;
    await vi.waitFor(() => expect(stack.fake!.batches).toHaveLength(1), { timeout: 15_000, interval: 50 });
    await stack.fake!.finishBatches('BATCH_STATE_EXPIRED');
    const done = await waitForTerminal(stack, batch.generationIds[0]);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'BATCH_EXPIRED' } });
  });

  it('a worker stopped while its Gemini batch runs: another worker resumes polling; nothing is submitted twice', async () => {
    stack.fake!.reset();
    await stack.db.deleteFrom('gemini_batches').execute();
    const batch = (await postBatch({ items: [{ prompt: 'resume me', autoEnhance: false }], tier: 'batch' })).json().data;
    await vi.waitFor(async () => expect((await providerBatchRows()).map((r) => r.state)).toEqual(['running']), { timeout: 15_000, interval: 50 });
    await stack.worker!.close(5_000);
    const second = await startWorkerRuntime(stack.config, createLogger({ level: 'silent' }));
    extraWorkers.push(second);
    await stack.fake!.finishBatches();
    expect((await waitForTerminal(stack, batch.generationIds[0])).status).toBe('success');
    expect(stack.fake!.batches).toHaveLength(1);
  });

  it('a job whose name was lost before it was stored is found by its display name, not created again', async () => {
    stack.fake!.reset();
    await stack.db.deleteFrom('gemini_batches').execute();
    const worker = extraWorkers[0]!;
    await worker.providerBatches!.stop();
    const batch = (await postBatch({ items: [{ prompt: 'lost answer', autoEnhance: false }], tier: 'batch' })).json().data;
    // The batch row and its claim exist; the provider got the job, but the worker died before storing its name.
    const claimed = await geminiBatchRepository.claimProviderBatch(stack.db, 'gemini-2.5-flash-image', 10, new Date());
    expect(claimed?.itemIds).toEqual(batch.generationIds);
    const [row] = await providerBatchRows();
    expect(row).toMatchObject({ state: 'submitting', name: null });
    await new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: stack.fake!.baseUrl } }).batches.create({
      model: row!.model,
      src: [{ contents: [{ role: 'user', parts: [{ text: 'lost answer' }] }], metadata: { key: batch.generationIds[0] } }],
      config: { displayName: row!.id },
    });
    await stack.db.updateTable('gemini_batches').set({ submit_attempts: 1, lease_until: new Date(0) }).where('id', '=', row!.id).execute();

    const third = await startWorkerRuntime(stack.config, createLogger({ level: 'silent' }));
    extraWorkers.push(third);
    await vi.waitFor(async () => expect((await providerBatchRows())[0]!.state).toBe('running'), { timeout: 15_000, interval: 50 });
    expect(stack.fake!.batches).toHaveLength(1);
    expect((await providerBatchRows())[0]!.name).toBe(stack.fake!.batches[0]!.name);
    await stack.fake!.finishBatches();
    expect((await waitForTerminal(stack, batch.generationIds[0])).status).toBe('success');
    expect(stack.fake!.batches).toHaveLength(1);
  });
});

