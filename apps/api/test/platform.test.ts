import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

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
