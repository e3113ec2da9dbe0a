import { batchSchema, batchWebhookEventSchema, generationSchema } from '@banatie/contracts';
import { startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

/** SPEC §13 batches, tier standard: validated first, ordinary generations with batchId, batch.completed, cancel, Idempotency-Key. */

let stack: Stack;
let idle: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({ provider: 'gemini', env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' } });
  // No worker: items stay pending, so cancelling is deterministic.
  idle = await startStack({ worker: false });
});
afterAll(async () => {
  await stack?.close();
  await idle?.close();
  await receiver?.close();
});

const postBatch = (s: Stack, body: object, headers: Record<string, string> = {}) =>
  s.app.inject({ method: 'POST', url: '/api/v1/batches', headers: { 'x-api-key': s.key.key, ...headers }, payload: body });
const getBatch = (s: Stack, id: string, key = s.key.key) => s.app.inject({ method: 'GET', url: `/api/v1/batches/${id}`, headers: { 'x-api-key': key } });
const counts = async (s: Stack) => ({
  batches: Number((await s.db.selectFrom('batches').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
  generations: Number((await s.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n),
});

describe('POST /api/v1/batches (tier standard)', () => {
  it('creates ordinary generations with batchId; mixed successes and failures; one batch.completed, signed', async () => {
    stack.fake!.script({ kind: 'image' }, { kind: 'error', status: 400 }, { kind: 'image' });
    const items = ['one', 'two', 'three'].map((prompt) => ({ prompt: `batch ${prompt}`, autoEnhance: false, flowId: null }));
    const res = await postBatch(stack, { items, webhookUrl: `${receiver.url}/batch-mixed` });
    expect(res.statusCode).toBe(202);
    const batch = batchSchema.parse(res.json().data);
    expect(res.headers.location).toBe(`/api/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({ tier: 'standard', webhookUrl: `${receiver.url}/batch-mixed`, completedAt: null, usage: null });
    expect(batch.counts.total).toBe(3);
    expect(batch.generationIds).toHaveLength(3);

    const finals = [];
    for (const id of batch.generationIds) finals.push(generationSchema.parse(await waitForTerminal(stack, id)));
    expect(finals.map((g) => g.batchId)).toEqual([batch.id, batch.id, batch.id]);
    expect(finals.map((g) => g.status).sort()).toEqual(['failed', 'success', 'success']);
    expect(finals.find((g) => g.status === 'failed')!.error!.code).toBe('PROVIDER_REJECTED');

    const [delivery] = await receiver.waitFor(1, '/batch-mixed');
    const project = (await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } })).json().data;
    const event = batchWebhookEventSchema.parse(new Webhook(project.webhookSecret).verify(delivery!.body, delivery!.headers as Record<string, string>));
    expect(event.type).toBe('batch.completed');
    expect(event.data).toMatchObject({ id: batch.id, status: 'completed', counts: { total: 3, success: 2, failed: 1, pending: 0, processing: 0, cancelled: 0 } });

    const done = batchSchema.parse((await getBatch(stack, batch.id)).json().data);
    expect(done.status).toBe('completed');
    expect(done.completedAt).not.toBeNull();
    expect(receiver.received.filter((r) => r.path === '/batch-mixed')).toHaveLength(1);
    // Items are listed like any generation.
    const listed = await stack.app.inject({ method: 'GET', url: '/api/v1/generations?limit=100', headers: { 'x-api-key': stack.key.key } });
    expect(listed.json().data.filter((g: { batchId: string | null }) => g.batchId === batch.id)).toHaveLength(3);
  });

  it.each([
    [{ items: [{ prompt: 'ok' }, { prompt: 'ok' }, { prompt: 'bad', aspectRatio: '7:3' }] }, 'items[2]: aspectRatio: Invalid aspect ratio'],
    [{ items: [{ prompt: 'ok' }, { prompt: 'grounded', model: 'gemini-2.5-flash-image', groundWithSearch: true }] }, 'items[1]: groundWithSearch is not supported by model gemini-2.5-flash-image'],
    [{ items: [{ prompt: 'missing ref', referenceImages: ['@nowhere'] }] }, 'items[0]: Image not found'],
    [{ items: [{ prompt: 'ok' }, { prompt: '' }] }, 'items[1]: prompt: Prompt is required'],
    [{ items: [{ prompt: 'ok', extra: 1 }] }, 'items[0]:'],
  ])('one bad item is a 400 naming its index, and nothing is created (%#)', async (body, message) => {
    const before = await counts(stack);
    const res = await postBatch(stack, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(res.json().error.message.startsWith(message)).toBe(true);
    expect(await counts(stack)).toEqual(before);
  });

  it('refuses an empty batch, more than 500 items and an unknown tier', async () => {
    for (const body of [{ items: [] }, { items: Array.from({ length: 501 }, () => ({ prompt: 'x' })) }, { items: [{ prompt: 'x' }], tier: 'cheap' }]) {
      expect((await postBatch(idle, body)).statusCode).toBe(400);
    }
  });

  it('Idempotency-Key: the same body returns the first batch and creates nothing; another body is 422', async () => {
    const body = { items: [{ prompt: 'idem a' }, { prompt: 'idem b' }] };
    const first = await postBatch(idle, body, { 'idempotency-key': 'batch-1' });
    const before = await counts(idle);
    const again = await postBatch(idle, body, { 'idempotency-key': 'batch-1' });
    expect(again.statusCode).toBe(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().data.id).toBe(first.json().data.id);
    expect(await counts(idle)).toEqual(before);
    const other = await postBatch(idle, { items: [{ prompt: 'idem c' }] }, { 'idempotency-key': 'batch-1' });
    expect(other.statusCode).toBe(422);
    expect(await counts(idle)).toEqual(before);
  });
});

describe('reading and cancelling batches', () => {
  it('cancels what has not finished; a second cancel is 409; the batch reads cancelled', async () => {
    const created = (await postBatch(idle, { items: [{ prompt: 'c1' }, { prompt: 'c2' }, { prompt: 'c3' }] })).json().data;
    expect(created.status).toBe('pending');
    const cancel = () => idle.app.inject({ method: 'POST', url: `/api/v1/batches/${created.id}/cancel`, headers: { 'x-api-key': idle.key.key } });
    const res = await cancel();
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ status: 'cancelled', counts: { total: 3, cancelled: 3, pending: 0 } });
    expect((await cancel()).statusCode).toBe(409);
    const row = await idle.db.selectFrom('batches').select('completed_at').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(row.completed_at).not.toBeNull();
  });

  it('lists newest first with pagination; another project sees 404', async () => {
    const a = (await postBatch(idle, { items: [{ prompt: 'list a' }] })).json().data;
    const b = (await postBatch(idle, { items: [{ prompt: 'list b' }] })).json().data;
    const list = await idle.app.inject({ method: 'GET', url: '/api/v1/batches?limit=2', headers: { 'x-api-key': idle.key.key } });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((x: { id: string }) => x.id)).toEqual([b.id, a.id]);
    expect(list.json().pagination).toMatchObject({ limit: 2, offset: 0, hasMore: true });
    const other = await idle.createKey('other', 'site');
    expect((await getBatch(idle, a.id, other.key)).statusCode).toBe(404);
    expect((await getBatch(idle, 'not-a-uuid')).statusCode).toBe(404);
  });
});
