import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_PRICES, apiKeyService, costOf, systemClock } from '@banatie/core';
import type { FakeGeminiRequest } from '@banatie/testing';
import { startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ provider: 'gemini' });
});
afterAll(async () => stack?.close());
afterEach(() => stack.fake!.reset());

const submit = async (body: object, apiKey = stack.key.key) => {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': apiKey }, payload: body });
  expect(res.statusCode).toBe(202);
  return waitForTerminal(stack, res.json().data.id, apiKey);
};
const get = (url: string, apiKey: string) => stack.app.inject({ method: 'GET', url, headers: { 'x-api-key': apiKey } });

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
        outputImages: image && r.usage!.candidatesTokenCount ? 1 : 0,
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
    const expected = reported(stack.fake!.requests.slice(1));
    expect(retried.usage).toEqual({ ...expected, costUsd: expect.closeTo(expected.costUsd, 7) });
    stack.fake!.reset();

    stack.fake!.script({ kind: 'safety', level: 'candidate' });
    const blocked = await submit({ prompt: 'blocked', autoEnhance: false });
    expect(blocked).toMatchObject({ status: 'failed', error: { code: 'CONTENT_BLOCKED' } });
    expect(blocked.usage).toMatchObject({ providerCalls: 1, inputTokens: stack.fake!.requests[0]!.usage!.promptTokenCount, outputTokens: 0 });
    expect(blocked.usage.costUsd).toBeGreaterThan(0);
  });

  it('keeps the calls of a retried attempt: its enhancement was answered and billed before the image call failed', async () => {
    stack.fake!.script({ kind: 'error', status: 503 }, { kind: 'image' });
    const done = await submit({ prompt: 'enhanced then retried' });
    expect(done).toMatchObject({ status: 'success', attempts: 2 });
    const expected = reported(stack.fake!.requests);
    expect(expected.providerCalls).toBe(3); // enhance, (image 503: nothing), enhance, image
    expect(done.usage).toEqual({ ...expected, costUsd: expect.closeTo(expected.costUsd, 7) });
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

  it('is recorded on the alias path (image, aliases and success in one transaction) as on the plain one', async () => {
    const done = await submit({ prompt: 'with an alias', alias: '@usage-hero', autoEnhance: false });
    expect(done.status).toBe('success');
    const expected = reported(stack.fake!.requests);
    expect(done.usage).toEqual({ ...expected, costUsd: expect.closeTo(expected.costUsd, 7) });
    const rows = await stack.db.selectFrom('usage_records').select('id').where('generation_id', '=', done.id).execute();
    expect(rows).toHaveLength(1);
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

describe('GET /api/v1/usage and GET /api/admin/usage', () => {
  let key: string;
  let master: string;
  let fakeTotals: ReturnType<typeof reported>;
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    key = (await stack.createKey('acme', 'usage-report')).key;
    master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
    stack.fake!.reset();
    await submit({ prompt: 'first report image' }, key);
    await submit({ prompt: 'second report image', autoEnhance: false }, key);
    stack.fake!.script({ kind: 'safety', level: 'prompt' });
    await submit({ prompt: 'refused report image', autoEnhance: false }, key);
    fakeTotals = reported(stack.fake!.requests);
    // Another project's work: never in this project's report.
    await submit({ prompt: 'someone else', autoEnhance: false });
  });

  it('totals this month equal what the model reported, exactly, with generations by status', async () => {
    const res = await get('/api/v1/usage', key);
    expect(res.statusCode).toBe(200);
    const data = res.json().data;
    const now = new Date();
    expect(data.from).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    expect(data.to).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());
    expect(data.totals).toEqual({
      generations: 3,
      succeeded: 2,
      failed: 1,
      cancelled: 0,
      providerCalls: fakeTotals.providerCalls,
      inputTokens: fakeTotals.inputTokens,
      outputTokens: fakeTotals.outputTokens,
      thoughtTokens: fakeTotals.thoughtTokens,
      costUsd: expect.closeTo(fakeTotals.costUsd, 7),
    });
    expect(fakeTotals.providerCalls).toBe(4);
    expect(data.groups).toEqual([{ key: today, ...data.totals }]);
  });

  it('groups by model (the text model has calls, no generations) and by source', async () => {
    const byModel = (await get('/api/v1/usage?groupBy=model', key)).json().data;
    expect(byModel.groups.map((g: any) => [g.key, g.generations, g.providerCalls])).toEqual([
      ['gemini-2.5-flash', 0, 1],
      ['gemini-2.5-flash-image', 3, 3],
    ]);
    const bySource = (await get('/api/v1/usage?groupBy=source', key)).json().data;
    expect(bySource.groups).toEqual([{ key: 'api', ...bySource.totals }]);
  });

  it('takes from/to as ISO dates (to includes its day) or date-times', async () => {
    const empty = (await get('/api/v1/usage?from=2000-01-01&to=2000-01-31', key)).json().data;
    expect(empty).toMatchObject({ from: '2000-01-01T00:00:00.000Z', to: '2000-02-01T00:00:00.000Z', groups: [] });
    expect(empty.totals.generations).toBe(0);
    const day = (await get(`/api/v1/usage?from=${today}&to=${today}`, key)).json().data;
    expect(day.totals.generations).toBe(3);
    const future = (await get(`/api/v1/usage?from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`, key)).json().data;
    expect(future.totals.providerCalls).toBe(0);
  });

  it.each([
    ['from=2026-02-30', 'from'],
    ['from=yesterday', 'from'],
    ['to=2026-13-01', 'to'],
    ['from=2026-12-01T10:00:00', 'from'],
    ['from=2026-12-10&to=2026-12-01', 'from'],
    ['groupBy=project', 'groupBy'],
    ['limit=5', 'limit'],
  ])('%s is a 400', async (query, field) => {
    const res = await get(`/api/v1/usage?${query}`, key);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(res.json().error)).toContain(field);
  });

  it('the admin report has every project (master key only)', async () => {
    const res = await get('/api/admin/usage', master);
    expect(res.statusCode).toBe(200);
    const groups = res.json().data.groups;
    const mine = groups.find((g: any) => g.key === 'acme/usage-report');
    const own = (await get('/api/v1/usage', key)).json().data.totals;
    expect(mine).toEqual({ key: 'acme/usage-report', ...own });
    expect(groups.find((g: any) => g.key === 'acme/site').generations).toBeGreaterThan(0);
    const byModel = (await get('/api/admin/usage?groupBy=model', master)).json().data;
    expect(byModel.totals.generations).toBe(res.json().data.totals.generations);
    expect((await get('/api/admin/usage', key)).statusCode).toBe(401);
    expect((await get('/api/v1/usage', master)).statusCode).toBe(401);
    expect((await get('/api/admin/usage?groupBy=week', master)).statusCode).toBe(400);
  });
});
