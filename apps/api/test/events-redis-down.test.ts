import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppWithoutRedis, startStack, type Stack } from './harness.js';

let stack: Stack;
let broken: FastifyInstance;
let closeBroken: () => Promise<void>;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  ({ app: broken, close: closeBroken } = await startAppWithoutRedis(stack));
});

afterAll(async () => {
  await closeBroken?.();
  await stack?.close();
});

async function pendingGeneration(): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'waiting' } });
  expect(res.statusCode).toBe(202);
  return res.json().data.id;
}

describe('status waiting while Redis is unreachable', () => {
  it('Prefer: wait and the SSE stream answer 503 with Retry-After instead of hanging; a plain read still works', async () => {
    const id = await pendingGeneration();
    const headers = { 'x-api-key': stack.key.key };
    for (const req of [
      { method: 'GET' as const, url: `/api/v1/generations/${id}`, headers: { ...headers, prefer: 'wait=30' } },
      { method: 'GET' as const, url: `/api/v1/generations/${id}/events`, headers },
    ]) {
      const res = await broken.inject(req);
      expect(res.statusCode, req.url).toBe(503);
      expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
    }
    const plain = await broken.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers });
    expect(plain.statusCode).toBe(200);
    expect(plain.json().data.status).toBe('pending');
  });

  it('cancel still works (PostgreSQL is the truth); the job skips itself later', async () => {
    const id = await pendingGeneration();
    const res = await broken.inject({ method: 'POST', url: `/api/v1/generations/${id}/cancel`, headers: { 'x-api-key': stack.key.key } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.status).toBe('cancelled');
  });
});
