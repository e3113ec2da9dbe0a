import { loadConfig } from '@banatie/config';
import { apiKeyService, systemClock } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

// SPEC §17 with its default numbers: 100 work-creating requests per hour, 600 other requests per minute, per key.
let stack: Stack;
let second: { app: FastifyInstance; close(): Promise<void> };
beforeAll(async () => {
  stack = await startStack({ worker: false, env: { RATE_LIMIT_PER_HOUR: '100', READ_RATE_LIMIT_PER_MINUTE: '600', LIVE_WAIT_TIMEOUT_MS: '100' } });
  // A second API instance on the same Redis and database.
  const deps = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  second = { app, close: async () => { await app.close(); await deps.close(); } };
});
afterAll(async () => {
  await second?.close();
  await stack?.close();
});

const instances = () => [stack.app, second.app];
const submit = (app: FastifyInstance, key: string, prompt = 'a lighthouse') =>
  app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': key }, payload: { prompt, autoEnhance: false } });
const list = (app: FastifyInstance, key: string) => app.inject({ method: 'GET', url: '/api/v1/generations', headers: { 'x-api-key': key } });
const generationCount = async (projectId: string) =>
  (await stack.db.selectFrom('generations').select('id').where('project_id', '=', projectId).execute()).length;

function expectBucket(res: LightMyRequestResponse, bucket: 'write' | 'read', limit: number, remaining: number): void {
  expect(res.headers['x-ratelimit-bucket']).toBe(bucket);
  expect(res.headers['x-ratelimit-limit']).toBe(String(limit));
  expect(res.headers['x-ratelimit-remaining']).toBe(String(remaining));
  expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
}

function expectRefused(res: LightMyRequestResponse, bucket: 'write' | 'read', limit: number): void {
  expect(res.statusCode).toBe(429);
  expect(res.json().error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { bucket } });
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expectBucket(res, bucket, limit, 0);
}

describe('two buckets per API key, shared across API instances (SPEC §17)', () => {
  it('100 creates pass, the 101st is refused and stores nothing, while reads still pass', async () => {
    const key = await stack.createKey('writes', 'site');
    for (let i = 0; i < 100; i++) {
      const res = await submit(instances()[i % 2]!, key.key, `prompt ${i}`);
      expect(res.statusCode).toBe(202);
      expectBucket(res, 'write', 100, 99 - i);
    }
    const refused = await submit(second.app, key.key, 'one too many');
    expectRefused(refused, 'write', 100);
    expect(await generationCount(key.projectId)).toBe(100);

    const read = await list(stack.app, key.key);
    expect(read.statusCode).toBe(200);
    expectBucket(read, 'read', 600, 599);
  });

  it('600 reads in a minute pass, the 601st is refused, while a create still passes', async () => {
    const key = await stack.createKey('reads', 'site');
    for (let i = 0; i < 600; i++) {
      const res = await list(instances()[i % 2]!, key.key);
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-ratelimit-remaining']).toBe(String(599 - i));
    }
    expectRefused(await list(second.app, key.key), 'read', 600);
    const created = await submit(stack.app, key.key);
    expect(created.statusCode).toBe(202);
    expectBucket(created, 'write', 100, 99);
  });

  it('counts per key: another key of the same project is not limited', async () => {
    const key = await stack.createKey('writes', 'site');
    const res = await list(stack.app, key.key);
    expect(res.statusCode).toBe(200);
    expectBucket(res, 'read', 600, 599);
  });
});

describe('what counts where', () => {
  const readRemaining = async (key: string) => Number((await list(stack.app, key)).headers['x-ratelimit-remaining']);

  it('a Prefer: wait long-poll and an event stream each count once, in the read bucket', async () => {
    const key = await stack.createKey('streams', 'site');
    const id = (await submit(stack.app, key.key)).json().data.id as string;
    const before = await readRemaining(key.key);
    const polled = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key, prefer: 'wait=1' } });
    expect(polled.statusCode).toBe(200);
    expectBucket(polled, 'read', 600, before - 1);
    // Cancelled, so the stream sends the terminal status and ends.
    expect((await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${id}/cancel`, headers: { 'x-api-key': key.key } })).statusCode).toBe(200);
    const stream = await second.app.inject({ method: 'GET', url: `/api/v1/generations/${id}/events`, headers: { 'x-api-key': key.key } });
    expect(stream.statusCode).toBe(200);
    expect(stream.body).toContain('"status":"cancelled"');
    expectBucket(stream, 'read', 600, before - 3);
  });

  it('PUT of a generation: a new prompt is work, a metadata change is a read', async () => {
    const key = await stack.createKey('updates', 'site');
    const id = (await submit(stack.app, key.key)).json().data.id as string;
    const put = (payload: object) => stack.app.inject({ method: 'PUT', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key }, payload });
    const meta = await put({ meta: { tag: 'x' } });
    expect(meta.statusCode).toBe(200);
    expect(meta.headers['x-ratelimit-bucket']).toBe('read');
    const prompt = await put({ prompt: 'a different lighthouse' });
    expect(prompt.statusCode).toBe(200);
    expectBucket(prompt, 'write', 100, 98);
  });

  it('a batch of 30 items counts 30; a batch past what is left is refused whole and creates nothing', async () => {
    const key = await stack.createKey('batches', 'site');
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ prompt: `batch item ${i}`, autoEnhance: false }));
    const batch = (app: FastifyInstance, n: number) =>
      app.inject({ method: 'POST', url: '/api/v1/batches', headers: { 'x-api-key': key.key }, payload: { items: items(n), tier: 'standard' } });
    const first = await batch(stack.app, 30);
    expect(first.statusCode).toBe(202);
    expectBucket(first, 'write', 100, 70);
    const second30 = await batch(second.app, 30);
    expectBucket(second30, 'write', 100, 40);
    const tooMany = await batch(stack.app, 41);
    expect(tooMany.statusCode).toBe(429);
    expect(tooMany.json().error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { bucket: 'write' } });
    expect(await generationCount(key.projectId)).toBe(60);
    const rest = await batch(second.app, 40);
    expectBucket(rest, 'write', 100, 0);
    expect(await generationCount(key.projectId)).toBe(100);
  });

  it('regenerate and flow regenerate are work', async () => {
    const key = await stack.createKey('regens', 'site');
    const created = (await submit(stack.app, key.key)).json().data;
    const regen = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${created.id}/regenerate`, headers: { 'x-api-key': key.key } });
    expectBucket(regen, 'write', 100, 98);
    const flow = await stack.app.inject({ method: 'POST', url: `/api/v1/flows/${created.flowId}/regenerate`, headers: { 'x-api-key': key.key } });
    expectBucket(flow, 'write', 100, 97);
  });

  it('a live miss is charged to the write bucket, and refused there when it is empty', async () => {
    const key = await stack.createKey('live', 'site');
    const miss = await stack.app.inject({ method: 'GET', url: '/api/v1/live?prompt=a%20red%20door', headers: { 'x-api-key': key.key } });
    expect(miss.statusCode).toBe(504); // no worker: the miss waits LIVE_WAIT_TIMEOUT_MS, then gives up
    expectBucket(miss, 'write', 100, 99);

    const spent = await stack.createKey('live-spent', 'site');
    for (let i = 0; i < 100; i++) expect((await submit(stack.app, spent.key, `p ${i}`)).statusCode).toBe(202);
    const before = await generationCount(spent.projectId);
    const refused = await second.app.inject({ method: 'GET', url: '/api/v1/live?prompt=a%20blue%20door', headers: { 'x-api-key': spent.key } });
    expectRefused(refused, 'write', 100);
    expect(await generationCount(spent.projectId)).toBe(before);
  });

  it('admin routes are charged to the master key like /api/v1 routes', async () => {
    const master = await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock });
    const res = await stack.app.inject({ method: 'GET', url: '/api/admin/keys?orgSlug=acme&projectSlug=site', headers: { 'x-api-key': master.key } });
    expect(res.statusCode).toBe(200);
    expectBucket(res, 'read', 600, 599);
  });

  it('public routes carry no rate-limit headers', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });
});

describe('with Redis down', () => {
  it('a read (which needs no Redis with the limits off) answers 503 with Retry-After: the limits are not skipped', async () => {
    const config = loadConfig({
      DATABASE_URL: stack.config.databaseUrl,
      REDIS_URL: 'redis://127.0.0.1:1',
      STORAGE_DIR: '/tmp/banatie-unused',
      LOG_LEVEL: 'silent',
    });
    const deps = await createAppDeps(config, createLogger({ level: 'silent' }));
    const app = await buildApp(deps);
    try {
      const key = await stack.createKey('redis-down', 'site');
      const res = await list(app, key.key);
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await app.close();
      await deps.close();
    }
  });
});
