import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let headers: Record<string, string>;

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, key = stack.key.key) =>
  stack.app.inject({ method, url: `/api/v1${url}`, headers: { 'x-api-key': key }, ...(payload !== undefined && { payload: payload as object }) });

beforeAll(async () => {
  stack = await startStack({ env: { LIVE_MISS_PER_IP_PER_HOUR: '0', LIVE_HIT_FLUSH_MS: '3600000' } });
  headers = { 'x-api-key': stack.key.key };
});
afterAll(async () => {
  await stack?.close();
});

async function scopeCount(): Promise<number> {
  const row = await stack.db.selectFrom('live_scopes').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('live scopes API', () => {
  it('creates a scope with defaults (201) and reads it with statistics', async () => {
    const res = await api('POST', '/live/scopes', { slug: 'Hero_1' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data).toEqual({
      id: expect.any(String),
      projectId: stack.key.projectId,
      slug: 'Hero_1',
      allowNewGenerations: true,
      newGenerationsLimit: 30,
      allowedOrigins: [],
      requireSignature: false,
      meta: {},
      currentGenerations: 0,
      lastGeneratedAt: null,
      hitCount: 0,
      missCount: 0,
      entryCount: 0,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const read = await api('GET', '/live/scopes/Hero_1');
    expect(read.statusCode).toBe(200);
    expect(read.json().data.id).toBe(res.json().data.id);
  });

  it('creates with every setting; origins are normalised', async () => {
    const res = await api('POST', '/live/scopes', {
      slug: 'landing',
      allowNewGenerations: false,
      newGenerationsLimit: 5,
      allowedOrigins: ['HTTPS://Example.com/', 'https://example.com:443', 'http://localhost:8080', 'https://*.example.org'],
      requireSignature: true,
      meta: { owner: 'marketing' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().data).toMatchObject({
      allowNewGenerations: false,
      newGenerationsLimit: 5,
      allowedOrigins: ['https://example.com', 'http://localhost:8080', 'https://*.example.org'],
      requireSignature: true,
      meta: { owner: 'marketing' },
    });
  });

  it('rejects bad input with 400 and stores nothing; a duplicate slug is 409', async () => {
    const before = await scopeCount();
    for (const body of [
      {},
      { slug: '' },
      { slug: 'has space' },
      { slug: 'x'.repeat(65) },
      { slug: 'ok', newGenerationsLimit: -1 },
      { slug: 'ok', newGenerationsLimit: 1.5 },
      { slug: 'ok', allowedOrigins: ['not an origin'] },
      { slug: 'ok', allowedOrigins: ['https://example.com/path'] },
      { slug: 'ok', allowedOrigins: ['ftp://example.com'] },
      { slug: 'ok', requireSignature: 'yes' },
      { slug: 'ok', meta: 'text' },
      { slug: 'ok', unknownField: true },
    ]) {
      const res = await api('POST', '/live/scopes', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    expect(await scopeCount()).toBe(before);
    const dup = await api('POST', '/live/scopes', { slug: 'Hero_1' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toMatchObject({ code: 'CONFLICT', message: 'Scope already exists' });
    expect(await scopeCount()).toBe(before);
  });

  it('lists scopes newest first with pagination', async () => {
    for (const slug of ['list-a', 'list-b', 'list-c']) expect((await api('POST', '/live/scopes', { slug })).statusCode).toBe(201);
    const all = await api('GET', '/live/scopes');
    expect(all.statusCode).toBe(200);
    const total = all.json().pagination.total;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(all.json().data[0].slug).toBe('list-c');
    const page = await api('GET', '/live/scopes?limit=2&offset=1');
    expect(page.json().data.map((s: { slug: string }) => s.slug)).toEqual(['list-b', 'list-a']);
    expect(page.json().pagination).toEqual({ total, limit: 2, offset: 1, hasMore: true });
    expect((await api('GET', '/live/scopes?limit=0')).statusCode).toBe(400);
    expect((await api('GET', '/live/scopes?color=red')).statusCode).toBe(400);
  });

  it('updates only the given settings', async () => {
    const res = await api('PUT', '/live/scopes/landing', { newGenerationsLimit: 50, allowedOrigins: [] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ newGenerationsLimit: 50, allowedOrigins: [], requireSignature: true, allowNewGenerations: false, meta: { owner: 'marketing' } });
    expect((await api('PUT', '/live/scopes/landing', { slug: 'renamed' })).statusCode).toBe(400);
    expect((await api('PUT', '/live/scopes/missing', { newGenerationsLimit: 1 })).statusCode).toBe(404);
  });

  it('shows generation and hit statistics', async () => {
    const url = '/cdn/acme/site/live/stats?prompt=counted';
    expect((await stack.app.inject({ method: 'GET', url })).headers['x-cache-status']).toBe('MISS');
    for (let i = 0; i < 3; i++) expect((await stack.app.inject({ method: 'GET', url })).headers['x-cache-status']).toBe('HIT');
    await stack.deps.live.flushHits();
    const read = await api('GET', '/live/scopes/stats');
    expect(read.json().data).toMatchObject({ currentGenerations: 1, missCount: 1, hitCount: 3, entryCount: 1, lastGeneratedAt: expect.any(String) });
  });

  it('deletes a scope ({id}), its entries and their cached copies; the slug then starts fresh', async () => {
    const url = '/cdn/acme/site/live/doomed?prompt=short%20lived';
    const first = await stack.app.inject({ method: 'GET', url });
    expect(first.headers['x-cache-status']).toBe('MISS');
    expect((await stack.app.inject({ method: 'GET', url })).headers['x-cache-status']).toBe('HIT');
    const id = (await api('GET', '/live/scopes/doomed')).json().data.id;

    const invalidated = once(stack.deps.live.events, 'invalidated');
    const del = await api('DELETE', '/live/scopes/doomed');
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ success: true, data: { id } });
    await invalidated;
    expect((await api('GET', '/live/scopes/doomed')).statusCode).toBe(404);
    expect((await api('DELETE', '/live/scopes/doomed')).statusCode).toBe(404);
    // The generation stays, detached from the scope.
    const gen = await stack.db.selectFrom('generations').select('live_scope_id').where('id', '=', String(first.headers['x-generation-id'])).executeTakeFirstOrThrow();
    expect(gen.live_scope_id).toBeNull();

    const again = await stack.app.inject({ method: 'GET', url });
    expect(again.headers['x-cache-status']).toBe('MISS');
    expect((await api('GET', '/live/scopes/doomed')).json().data).toMatchObject({ currentGenerations: 1 });
  });

  it('a key never sees another project\'s scopes', async () => {
    const other = await stack.createKey('other', 'proj');
    expect((await api('POST', '/live/scopes', { slug: 'private' }, other.key)).statusCode).toBe(201);
    expect((await api('GET', '/live/scopes/private')).statusCode).toBe(404);
    expect((await api('PUT', '/live/scopes/private', { newGenerationsLimit: 1 })).statusCode).toBe(404);
    expect((await api('DELETE', '/live/scopes/private')).statusCode).toBe(404);
    expect((await api('GET', '/live/scopes')).json().data.map((s: { slug: string }) => s.slug)).not.toContain('private');
    expect((await api('GET', '/live/scopes/private', undefined, other.key)).statusCode).toBe(200);
    // The same slug may exist in both projects.
    expect((await api('POST', '/live/scopes', { slug: 'private' })).statusCode).toBe(201);
  });

  it('needs a key', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/live/scopes' });
    expect(res.statusCode).toBe(401);
    expect(headers['x-api-key']).toBe(stack.key.key);
  });
});
