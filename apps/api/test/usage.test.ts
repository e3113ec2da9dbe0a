import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PRICES, costOf } from '@banatie/core';
import type { FakeGeminiRequest } from '@banatie/testing';
import { startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ provider: 'gemini' });
});
afterAll(async () => stack?.close());
afterEach(() => stack.fake!.reset());

const submit = async (body: object) => {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: body });
  expect(res.statusCode).toBe(202);
  return waitForTerminal(stack, res.json().data.id);
};

/** What the fake answered, summed; the cost at the built-in prices. */
function reported(requests: FakeGeminiRequest[]) {
  const billed = requests.filter((r) => r.usage);
  const cost = billed.reduce((sum, r) => {
    const image = r.model.includes('image');
    return (
      sum +
      costOf(BUILT_IN_PRICES, {
        operation: image ? 'generate_image' : 'enhance_prompt',
        model: r.model,
        inputTokens: r.usage!.promptTokenCount,
        outputTokens: r.usage!.candidatesTokenCount ?? 0,
        thoughtTokens: r.usage!.thoughtsTokenCount ?? 0,
        outputImages: image ? 1 : 0,
        imageSize: image ? '1K' : null,
        tier: 'standard',
      })
    );
  }, 0);
  return {
    providerCalls: billed.length,
    inputTokens: billed.reduce((s, r) => s + r.usage!.promptTokenCount, 0),
    outputTokens: billed.reduce((s, r) => s + (r.usage!.candidatesTokenCount ?? 0), 0),
    thoughtTokens: billed.reduce((s, r) => s + (r.usage!.thoughtsTokenCount ?? 0), 0),
    costUsd: cost,
  };
}

describe('usage on the generation object', () => {
  it('is zero while pending, then the exact sum of what the model reported (enhancement included)', async () => {
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'a quiet harbour' } });
    expect(res.json().data.usage).toEqual({ providerCalls: 0, inputTokens: 0, outputTokens: 0, thoughtTokens: 0, costUsd: 0 });
    const done = await waitForTerminal(stack, res.json().data.id);
    expect(done.status).toBe('success');
    const expected = reported(stack.fake!.requests);
    expect(expected.providerCalls).toBe(2);
    expect(done.usage).toEqual({ ...expected, costUsd: expect.closeTo(expected.costUsd, 9) });
    expect(done.usage.costUsd).toBeGreaterThan(0.039); // one 1K image of gemini-2.5-flash-image is $0.039, plus the text call
  });

  it('counts the calls of every attempt: an answered refusal is billed, an HTTP error is not', async () => {
    stack.fake!.script({ kind: 'error', status: 503 }, { kind: 'image' });
    const retried = await submit({ prompt: 'retry me', autoEnhance: false });
    expect(retried).toMatchObject({ status: 'success', attempts: 2 });
    expect(retried.usage.providerCalls).toBe(1);
    expect(retried.usage).toMatchObject(reported(stack.fake!.requests.slice(1)) as object);
    stack.fake!.reset();

    stack.fake!.script({ kind: 'safety', level: 'candidate' });
    const blocked = await submit({ prompt: 'blocked', autoEnhance: false });
    expect(blocked).toMatchObject({ status: 'failed', error: { code: 'CONTENT_BLOCKED' } });
    expect(blocked.usage).toMatchObject({ providerCalls: 1, inputTokens: stack.fake!.requests[0]!.usage!.promptTokenCount, outputTokens: 0 });
    expect(blocked.usage.costUsd).toBeGreaterThan(0);
  });

  it('is stored per call with model, size, tier and source', async () => {
    const done = await submit({ prompt: 'records', autoEnhance: true });
    const rows = await stack.db.selectFrom('usage_records').selectAll().where('generation_id', '=', done.id).orderBy('id').execute();
    expect(rows.map((r) => [r.operation, r.model, r.image_size, r.tier, r.source])).toEqual([
      ['enhance_prompt', 'gemini-2.5-flash', null, 'standard', 'api'],
      ['generate_image', 'gemini-2.5-flash-image', '1K', 'standard', 'api'],
    ]);
    const sum = rows.reduce((s, r) => s + Number(r.cost_usd), 0);
    expect(sum).toBeCloseTo(done.usage.costUsd, 8);
  });

  it('counts tokens and cost by model in the worker’s Prometheus counters', async () => {
    const metrics = stack.worker!.metrics;
    const value = async (name: string, labels: Record<string, string>) => {
      const metric = await metrics.getSingleMetric(name)!.get();
      return metric.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
    };
    const before = await value('banatie_provider_cost_usd_total', { model: 'gemini-2.5-flash-image', tier: 'standard' });
    const tokensBefore = await value('banatie_provider_tokens_total', { model: 'gemini-2.5-flash-image', type: 'input' });
    const done = await submit({ prompt: 'metrics', autoEnhance: false });
    expect((await value('banatie_provider_cost_usd_total', { model: 'gemini-2.5-flash-image', tier: 'standard' })) - before).toBeCloseTo(done.usage.costUsd, 9);
    expect((await value('banatie_provider_tokens_total', { model: 'gemini-2.5-flash-image', type: 'input' })) - tokensBefore).toBe(done.usage.inputTokens);
  });
});
