import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.close());

const submit = (body: object, key: string) =>
  stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key, 'idempotency-key': key }, payload: body });

const count = async () =>
  Number((await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

describe('Idempotency-Key', () => {
  it('a replay returns the original generation and creates nothing', async () => {
    const first = await submit({ prompt: 'a cat', aspectRatio: '1:1' }, 'k-replay');
    expect(first.statusCode).toBe(202);
    const before = await count();
    const replay = await submit({ aspectRatio: '1:1', prompt: 'a cat' }, 'k-replay');
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json().data.id).toBe(first.json().data.id);
    expect(await count()).toBe(before);
  });

  it('the same key with a different body is 422 and creates nothing', async () => {
    await submit({ prompt: 'a dog' }, 'k-mismatch');
    const before = await count();
    const res = await submit({ prompt: 'a wolf' }, 'k-mismatch');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IDEMPOTENCY_MISMATCH');
    expect(await count()).toBe(before);
  });

  it('10 parallel duplicates create exactly one generation (and one flow)', async () => {
    const flowsBefore = Number((await stack.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const results = await Promise.all(Array.from({ length: 10 }, () => submit({ prompt: 'a parrot' }, 'k-parallel')));
    expect(results.map((r) => r.statusCode)).toEqual(Array(10).fill(202));
    expect(new Set(results.map((r) => r.json().data.id)).size).toBe(1);
    const rows = await stack.db.selectFrom('generations').select('id').where('idempotency_key', '=', 'k-parallel').execute();
    expect(rows).toHaveLength(1);
    const flowsAfter = Number((await stack.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(flowsAfter).toBe(flowsBefore + 1);
  });

  it('keys are scoped per project', async () => {
    const other = await stack.createKey('acme', 'elsewhere');
    const a = await submit({ prompt: 'same' }, 'k-scope');
    const b = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': other.key, 'idempotency-key': 'k-scope' }, payload: { prompt: 'same' } });
    expect(b.statusCode).toBe(202);
    expect(b.json().data.id).not.toBe(a.json().data.id);
  });

  it('a key older than 24 hours can be reused for a new generation', async () => {
    const first = await submit({ prompt: 'old' }, 'k-old');
    await stack.db.updateTable('generations').set({ created_at: new Date(Date.now() - 25 * 3600 * 1000) }).where('id', '=', first.json().data.id).execute();
    const second = await submit({ prompt: 'new body' }, 'k-old');
    expect(second.statusCode).toBe(202);
    expect(second.json().data.id).not.toBe(first.json().data.id);
  });
});
