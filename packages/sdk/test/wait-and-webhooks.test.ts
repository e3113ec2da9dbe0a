import { generationSchema, webhookAttemptSchema, webhookEventSchema } from '@banatie/contracts';
import { startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listenStack, startStack, type Stack } from '../../../apps/api/test/harness.js';
import { Banatie, parseCancelAfter, verifyWebhook, type FetchLike, type Generation } from '../src/index.js';
import { caught, eventually, expectShape } from './helpers.js';

let stack: Stack;
let baseUrl: string;
let client: Banatie;
let receiver: WebhookReceiver;
let requested: string[];

/** The real fetch, recording each request's method and path. */
const recordingFetch: FetchLike = (input, init) => {
  requested.push(`${init?.method ?? 'GET'} ${new URL(input).pathname}`);
  return fetch(input, init);
};

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({ provider: 'gemini', env: { GEMINI_TIMEOUT_MS: '8000', WEBHOOK_ALLOW_PRIVATE: 'true' } });
  baseUrl = await listenStack(stack);
  client = new Banatie({ apiKey: stack.key.key, baseUrl, fetch: recordingFetch });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});
beforeEach(() => {
  requested = [];
  stack.fake!.reset();
});

describe('createAndWait with a slow Gemini', () => {
  it('submits with Prefer: wait, follows the event stream and resolves with the successful generation', async () => {
    stack.fake!.script({ kind: 'image', delayMs: 2500 });
    const updates: Generation[] = [];
    const done = await client.generations.createAndWait({ prompt: 'a slow sunrise', aspectRatio: '1:1', autoEnhance: false }, { wait: 1, onUpdate: (g) => updates.push(g) });

    expectShape(generationSchema, done);
    expect(done).toMatchObject({ status: 'success', prompt: 'a slow sunrise', outputImage: { width: expect.any(Number) } });
    expect(stack.fake!.requests).toHaveLength(1);
    // The submit answered before the fake did; the result came over the stream.
    expect(['pending', 'processing']).toContain(updates[0]!.status);
    expect(updates.at(-1)!.status).toBe('success');
    expect(requested).toEqual(['POST /api/v1/generations', `GET /api/v1/generations/${done.id}/events`]);
  });

  it("hands the submit's warnings to onSubmit (they are not on the final generation)", async () => {
    stack.fake!.script({ kind: 'image' });
    const submits: Array<{ id: string; warnings: string[] }> = [];
    const done = await client.generations.createAndWait(
      { prompt: 'a logo next to @nowhere', autoEnhance: false },
      { wait: 10, onSubmit: ({ generation, warnings }) => submits.push({ id: generation.id, warnings }) },
    );
    expect(submits).toHaveLength(1);
    expect(submits[0]!.id).toBe(done.id);
    expect(submits[0]!.warnings).toHaveLength(1);
    expect(submits[0]!.warnings[0]).toContain('@nowhere');
  });

  it('falls back to long-polling when the stream drops', async () => {
    stack.fake!.script({ kind: 'image', delayMs: 2500 });
    const dropping: FetchLike = async (input, init) => {
      const res = await recordingFetch(input, init);
      if (!new URL(input).pathname.endsWith('/events')) return res;
      // Pass the first event through, then fail like a reset connection.
      const reader = res.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value } = await reader.read();
          controller.enqueue(value!);
          await reader.cancel();
          controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const flaky = new Banatie({ apiKey: stack.key.key, baseUrl, fetch: dropping });
    const done = await flaky.generations.createAndWait({ prompt: 'a stream that drops' }, { wait: 1 });

    expect(done.status).toBe('success');
    expect(requested.slice(0, 2)).toEqual(['POST /api/v1/generations', `GET /api/v1/generations/${done.id}/events`]);
    expect(requested.slice(2)).toContain(`GET /api/v1/generations/${done.id}`);
  });

  it('a generation that fails is returned, not thrown', async () => {
    stack.fake!.script({ kind: 'safety', level: 'prompt' });
    const done = await client.generations.createAndWait({ prompt: 'a refused prompt' }, { wait: 10 });
    expect(done).toMatchObject({ status: 'failed', error: { code: 'CONTENT_BLOCKED' } });
  });

  it('gives up with WAIT_TIMEOUT (carrying the last state); the generation can then be cancelled', async () => {
    stack.fake!.script({ kind: 'hang' });
    const err = await caught(client.generations.createAndWait({ prompt: 'a hung request' }, { wait: 1, timeoutMs: 1500 }));
    expect(err).toMatchObject({ code: 'WAIT_TIMEOUT', status: 0 });
    const last = (err.details as { generation: Generation }).generation;
    expect(['pending', 'processing']).toContain(last.status);

    const cancelled = expectShape(generationSchema, await client.generations.cancel(last.id));
    expect(cancelled.status).toBe('cancelled');
  });

  it("stops when the caller's signal aborts", async () => {
    stack.fake!.script({ kind: 'hang' });
    const controller = new AbortController();
    const updates: Generation[] = [];
    const waiting = client.generations.createAndWait({ prompt: 'an aborted wait' }, { wait: 1, signal: controller.signal, onUpdate: (g) => updates.push(g) });
    await eventually(async () => (updates.length > 0 ? true : undefined));
    controller.abort(new Error('user left'));
    await expect(waiting).rejects.toThrow('user left');
    await client.generations.cancel(updates[0]!.id);
  });
});

describe('Cancel-After and queuePosition (SPEC §12)', () => {
  /** The deadline the API set, as milliseconds after the submit. */
  const deadlineOf = async (id: string) => {
    const row = await stack.db.selectFrom('generations').select(['deadline_at', 'created_at']).where('id', '=', id).executeTakeFirstOrThrow();
    return row.deadline_at!.getTime() - row.created_at.getTime();
  };

  it('create and createAndWait send cancelAfter as Cancel-After: a duration as written, a number as seconds', async () => {
    const byDuration = await client.generations.create({ prompt: 'a deadline of 30s', autoEnhance: false }, { cancelAfter: '30s' });
    const bySeconds = await client.generations.create({ prompt: 'a deadline of 90 seconds', autoEnhance: false }, { cancelAfter: 90 });
    const waited = await client.generations.createAndWait({ prompt: 'a deadline of 1h30m', autoEnhance: false }, { cancelAfter: '2m30s', wait: 10 });
    expect(await deadlineOf(byDuration.generation.id)).toBe(30_000);
    expect(await deadlineOf(bySeconds.generation.id)).toBe(90_000);
    expect(await deadlineOf(waited.id)).toBe(150_000);
    expect(waited.status).toBe('success');
  });

  it("a value the API cannot read is its 400 VALIDATION_ERROR; parseCancelAfter tells beforehand", async () => {
    const err = await caught(client.generations.create({ prompt: 'never made' }, { cancelAfter: 'soon' }));
    expect(err).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
    expect(err.message).toContain('Cancel-After');
    expect(parseCancelAfter('soon')).toBeUndefined();
    expect(parseCancelAfter('1h30m')).toBe(5_400_000);
  });

  it('createAndWait calls onUpdate as the queue position of a pending generation moves, then with each status', async () => {
    await stack.worker!.worker.pause();
    const ahead = await client.generations.create({ prompt: 'ahead in the queue', autoEnhance: false });
    const updates: Generation[] = [];
    let waiting: Promise<Generation> | undefined;
    try {
      // wait: 0 submits without Prefer: wait, so it queues behind `ahead` (an interactive submit would go first).
      waiting = client.generations.createAndWait({ prompt: 'behind one job', autoEnhance: false }, { wait: 0, queueRefreshMs: 50, onUpdate: (g) => updates.push(g) });
      await eventually(async () => (updates.length > 0 ? true : undefined));
      expect(updates[0]).toMatchObject({ status: 'pending', queuePosition: 1 });
      await client.generations.cancel(ahead.generation.id);
      await eventually(async () => (updates.some((g) => g.queuePosition === 0) ? true : undefined));
    } finally {
      stack.worker!.worker.resume();
    }
    const done = await waiting!;
    expect(done.status).toBe('success');
    const positions = updates.filter((g) => g.status === 'pending').map((g) => g.queuePosition);
    expect(positions).toEqual([1, 0]);
    expect(updates.at(-1)).toMatchObject({ status: 'success', queuePosition: null });
  });
});

describe('webhooks.verify', () => {
  it('accepts a real delivery and rejects a tampered body, a wrong secret and an old timestamp', async () => {
    const done = await client.generations.createAndWait({ prompt: 'a delivered webhook', webhookUrl: `${receiver.url}/hook` }, { wait: 10 });
    const [delivery] = await receiver.waitFor(1, '/hook');
    // The stack's key is an admin key: its project view carries the secrets.
    const webhookSecret = (await client.project.get()).webhookSecret!;

    const event = expectShape(webhookEventSchema, await client.webhooks.verify(delivery!.body, delivery!.headers, webhookSecret));
    expect(event).toMatchObject({ type: 'generation.succeeded', data: { id: done.id, status: 'success' } });
    // The standalone export and a Headers object work the same.
    const headers = new Headers(delivery!.headers as Record<string, string>);
    expect((await verifyWebhook(delivery!.body, headers, webhookSecret)).data.id).toBe(done.id);

    const tampered = delivery!.body.replace('"success"', '"failed"');
    expect(tampered).not.toBe(delivery!.body);
    expect(await caught(verifyWebhook(tampered, headers, webhookSecret))).toMatchObject({ code: 'WEBHOOK_INVALID', message: 'No matching webhook signature' });
    expect(await caught(verifyWebhook(delivery!.body, headers, `whsec_${btoa('another secret of some length')}`))).toMatchObject({ code: 'WEBHOOK_INVALID' });

    const sentAt = Number(headers.get('webhook-timestamp')) * 1000;
    expect(await caught(verifyWebhook(delivery!.body, headers, webhookSecret, { now: sentAt + 301_000 }))).toMatchObject({ message: 'Webhook timestamp is too old' });
    expect(await caught(verifyWebhook(delivery!.body, headers, webhookSecret, { now: sentAt - 301_000 }))).toMatchObject({ message: 'Webhook timestamp is too new' });
    expect((await verifyWebhook(delivery!.body, headers, webhookSecret, { now: sentAt + 299_000 })).type).toBe('generation.succeeded');

    // Several signatures (secret rotation): one match is enough; other versions are ignored.
    const real = headers.get('webhook-signature')!;
    const several = new Headers(headers);
    several.set('webhook-signature', `v1,${btoa('x'.repeat(32))} ${real}`);
    expect((await verifyWebhook(delivery!.body, several, webhookSecret)).data.id).toBe(done.id);
    several.set('webhook-signature', real.replace(/^v1,/, 'v2,'));
    expect(await caught(verifyWebhook(delivery!.body, several, webhookSecret))).toMatchObject({ code: 'WEBHOOK_INVALID' });
    several.delete('webhook-signature');
    expect(await caught(verifyWebhook(delivery!.body, several, webhookSecret))).toMatchObject({ code: 'WEBHOOK_INVALID' });

    // The attempt is recorded and listed through the SDK.
    const attempts = await eventually(async () => {
      const page = await client.generations.webhooks(done.id);
      return page.data.length > 0 ? page : undefined;
    });
    expectShape(webhookAttemptSchema, attempts.data[0]);
    expect(attempts.data[0]).toMatchObject({ event: 'generation.succeeded', succeeded: true, statusCode: 200, webhookId: headers.get('webhook-id') });
  });
});
