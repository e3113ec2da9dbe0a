import { parseCancelAfter } from '@banatie/contracts';
import { generationJobId } from '@banatie/queue';
import { startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

describe('Cancel-After (SPEC §12)', () => {
  it('takes 30s, 5m, compound durations and bare seconds', () => {
    expect(parseCancelAfter('30s')).toBe(30_000);
    expect(parseCancelAfter('5m')).toBe(300_000);
    expect(parseCancelAfter('90')).toBe(90_000);
    expect(parseCancelAfter('1.5')).toBe(1500);
    expect(parseCancelAfter('1h30m')).toBe(5_400_000);
    expect(parseCancelAfter('500ms')).toBe(500);
    expect(parseCancelAfter(' 2s ')).toBe(2000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'soon', '-5', '0', '0s', '5x', '5 m', 's', '1e3', '5m-', 'PT5M']) expect(parseCancelAfter(bad), bad).toBeUndefined();
  });
});

describe('deadlines', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({
      provider: 'gemini',
      env: { GENERATION_DEADLINE_MS: '120000', SWEEP_INTERVAL_MS: '200', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const submit = (body: object, headers: Record<string, string> = {}) =>
    stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key, ...headers }, payload: body });
  const rowOf = (id: string) => stack.db.selectFrom('generations').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const jobOf = (id: string) => stack.deps.queue.getJob(generationJobId({ generationId: id, run: 0 }));
  const webhookBody = async (path: string) => JSON.parse((await receiver.waitFor(1, path))[0]!.body);

  it('a bad Cancel-After is 400 and creates nothing', async () => {
    const before = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await submit({ prompt: 'never' }, { 'cancel-after': 'soon' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    const after = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    expect(stack.fake!.requests).toHaveLength(0);
  });

  it('every generation gets GENERATION_DEADLINE_MS; Cancel-After only brings it sooner', async () => {
    const cases: Array<[Record<string, string>, number]> = [
      [{}, 120_000],
      [{ 'cancel-after': '30s' }, 30_000],
      [{ 'cancel-after': '1h' }, 120_000],
    ];
    for (const [headers, ms] of cases) {
      const res = await submit({ prompt: `deadline ${ms}`, autoEnhance: false }, headers);
      expect(res.statusCode).toBe(202);
      const row = await rowOf(res.json().data.id);
      expect(row.deadline_at!.getTime() - row.created_at.getTime()).toBe(ms);
      await waitForTerminal(stack, row.id);
    }
  });

  it('passing while queued with no worker taking jobs: DEADLINE_EXCEEDED, job removed, webhook sent', async () => {
    await stack.worker!.worker.pause();
    try {
      const res = await submit({ prompt: 'nobody takes me', webhookUrl: `${receiver.url}/queued` }, { 'cancel-after': '1s' });
      const id = res.json().data.id;
      expect(await jobOf(id)).toBeDefined();
      const done = await waitForTerminal(stack, id);
      expect(done).toMatchObject({ status: 'failed', error: { code: 'DEADLINE_EXCEEDED' }, attempts: 0 });
      expect(await jobOf(id)).toBeUndefined();
      const hook = await webhookBody('/queued');
      expect(hook).toMatchObject({ type: 'generation.failed', data: { id, error: { code: 'DEADLINE_EXCEEDED' } } });
    } finally {
      stack.worker!.worker.resume();
    }
    expect(stack.fake!.requests.filter((r) => r.text === 'nobody takes me')).toHaveLength(0);
  });

  it('a regeneration is a new run with a new deadline', async () => {
    const res = await submit({ prompt: 'late but retried', autoEnhance: false }, { 'cancel-after': '30s' });
    const id = res.json().data.id;
    await waitForTerminal(stack, id);
    const first = await rowOf(id);
    const before = Date.now();
    const regen = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${id}/regenerate`, headers: { 'x-api-key': stack.key.key } });
    const after = Date.now();
    expect(regen.statusCode).toBe(202);
    const again = await rowOf(id);
    expect(again.run).toBe(first.run + 1);
    // The configured deadline from the regeneration on (the first run's Cancel-After does not carry over).
    expect(again.deadline_at!.getTime()).toBeGreaterThanOrEqual(before + 120_000);
    expect(again.deadline_at!.getTime()).toBeLessThanOrEqual(after + 120_000);
    expect((await waitForTerminal(stack, id)).status).toBe('success');
  });

  it('passing while waiting for provider quota: RATE_LIMITED, job removed, webhook sent', async () => {
    stack.fake!.reset();
    stack.fake!.rateLimitFor(10 * 60_000, '600s');
    const res = await submit({ prompt: 'quota never comes', autoEnhance: false, webhookUrl: `${receiver.url}/quota` }, { 'cancel-after': '2s' });
    const id = res.json().data.id;
    const done = await waitForTerminal(stack, id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'RATE_LIMITED' }, attempts: 0 });
    // One call met the 429; the pause kept every later try away from the model.
    expect(stack.fake!.requests.filter((r) => r.model.includes('image'))).toHaveLength(1);
    expect(await jobOf(id)).toBeUndefined();
    const hook = await webhookBody('/quota');
    expect(hook).toMatchObject({ type: 'generation.failed', data: { id, error: { code: 'RATE_LIMITED' } } });
  });
});
