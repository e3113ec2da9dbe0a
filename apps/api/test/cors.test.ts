// CORS (SPEC §15): CORS_ORIGINS opens /api/v1 to the listed browser origins
// (preflight without a key, the real request's answers readable, errors too);
// /cdn/* GET/HEAD always allow any origin; without CORS_ORIGINS nothing changes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.com';

describe('with CORS_ORIGINS set to one origin', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ORIGINS: `${APP},http://localhost:5173` } });
  });
  afterAll(async () => stack?.close());

  it('answers a preflight from an allowed origin without a key', async () => {
    const res = await stack.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/generations',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, content-type, idempotency-key' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-methods']).toContain('POST');
    expect(res.headers['access-control-allow-headers']).toBe('x-api-key, content-type, idempotency-key');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toContain('Origin');
  });

  it('gives a preflight from another origin no allow headers', async () => {
    const res = await stack.app.inject({ method: 'OPTIONS', url: '/api/v1/generations', headers: { origin: OTHER, 'access-control-request-method': 'POST' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('lets an allowed origin read answers, errors and the retry headers', async () => {
    const ok = await stack.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { origin: APP, 'x-api-key': stack.key.key } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(String(ok.headers['access-control-expose-headers'])).toMatch(/retry-after/);
    expect(String(ok.headers['access-control-expose-headers'])).toMatch(/idempotent-replayed/);
    const unauthorized = await stack.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { origin: APP } });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe(APP);
  });

  it('does not allow another origin on real requests', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { origin: OTHER, 'x-api-key': stack.key.key } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('does not open the admin API', async () => {
    const res = await stack.app.inject({ method: 'OPTIONS', url: '/api/admin/keys', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('without CORS_ORIGINS', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => stack?.close());

  it('/api/v1 sends no CORS headers and has no preflight route', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { origin: APP, 'x-api-key': stack.key.key } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await stack.app.inject({ method: 'OPTIONS', url: '/api/v1/generations', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('/cdn/* GET and HEAD allow any origin: images, 404s and live URLs', async () => {
    const created = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'a red square' } });
    const done = await waitForTerminal(stack, created.json().data.id);
    expect(done.status).toBe('success');
    const path = new URL(done.outputImage.url).pathname;
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await stack.app.inject({ method, url: path, headers: { origin: OTHER } });
      expect(res.statusCode, method).toBe(200);
      expect(res.headers['access-control-allow-origin'], method).toBe('*');
    }
    const missing = await stack.app.inject({ method: 'GET', url: `/cdn/acme/site/img/${randomUUID()}`, headers: { origin: OTHER } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('*');
    const live = await stack.app.inject({ method: 'GET', url: '/cdn/acme/site/live/hero?prompt=a%20blue%20circle', headers: { origin: OTHER } });
    expect(live.statusCode).toBe(200);
    expect(live.headers['access-control-allow-origin']).toBe('*');
  });
});
