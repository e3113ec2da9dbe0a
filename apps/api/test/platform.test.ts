import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppWithoutRedis, startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false, storage: 's3' });
});
afterAll(async () => stack?.close());

describe('operational endpoints', () => {
  it('/health and /ready answer when everything is up', async () => {
    expect((await stack.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const ready = await stack.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().data).toEqual({ postgres: 'ok', redis: 'ok', storage: 'ok' });
  });

  it('/openapi.json is generated from the request schemas; /docs serves the UI', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const post = doc.paths['/api/v1/generations'].post;
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['prompt']);
    expect(schema.properties.aspectRatio.enum).toContain('16:9');
    expect(schema.additionalProperties).toBe(false);
    const docs = await stack.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('/metrics exposes Prometheus text', async () => {
    await stack.app.inject({ method: 'GET', url: '/health' });
    const res = await stack.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('banatie_http_requests_total');
    expect(res.body).toContain('process_resident_memory_bytes');
  });
});

describe('when Redis is down', () => {
  it('/ready is 503 and a submit answers 503 with Retry-After instead of hanging', async () => {
    const { app, close } = await startAppWithoutRedis(stack);
    try {
      const ready = await app.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().error.code).toBe('SERVICE_UNAVAILABLE');
      expect(ready.json().error.message).toContain('redis');
      const res = await app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'x' } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBeDefined();
      const stored = await stack.db.selectFrom('generations').select('id').execute();
      expect(stored).toHaveLength(0);
    } finally {
      await close();
    }
  });
});
