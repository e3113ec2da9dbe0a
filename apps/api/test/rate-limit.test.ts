import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let second: { app: FastifyInstance; close(): Promise<void> };
beforeAll(async () => {
  stack = await startStack({ worker: false, env: { RATE_LIMIT_PER_HOUR: '5' } });
  // A second API instance on the same Redis and database.
  const deps = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  second = { app, close: async () => { await app.close(); await deps.close(); } };
});
afterAll(async () => {
  await second?.close();
  await stack?.close();
});

describe('rate limit per API key', () => {
  it('the 6th request across two API instances is 429 with Retry-After', async () => {
    const apps = [stack.app, second.app];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await apps[i % 2]!.inject({ method: 'GET', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key } });
      statuses.push(res.statusCode);
      expect(res.headers['x-ratelimit-limit']).toBe('5');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(4 - i));
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await second.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'x' } });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const stored = await stack.db.selectFrom('generations').select('id').execute();
    expect(stored).toHaveLength(0);
  });

  it('counts per key: another key is not limited', async () => {
    const other = await stack.createKey('acme', 'site');
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { 'x-api-key': other.key } });
    expect(res.statusCode).toBe(200);
  });

  it('public routes carry no rate-limit headers', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });
});
