import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { call, cdnPath, generateAndWait, png, upload } from './image-helpers.js';

/** SPEC §11: cache headers that are true, and public CDN errors that say nothing internal. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
});
afterAll(async () => stack?.close());

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=60, must-revalidate';
const get = (url: string, headers: Record<string, string> = {}) => stack.app.inject({ method: 'GET', url: url.startsWith('http') ? `${cdnPath(url)}${new URL(url).search}` : url, headers });

async function uploadPng(): Promise<any> {
  const res = await upload(stack, { flowId: 'null' }, { data: await png(80, 60) });
  expect(res.statusCode).toBe(201);
  return res.json().data;
}

describe('id URLs and versioned URLs', () => {
  it('url: a short max-age with ETag revalidation, never immutable; versionedUrl: immutable for a year', async () => {
    const img = await uploadPng();
    expect(img.versionedUrl).toBe(`${img.url}?v=1`);
    const plain = await get(img.url);
    expect([plain.statusCode, plain.headers['cache-control']]).toEqual([200, REVALIDATE]);
    expect((await get(img.url, { 'if-none-match': plain.headers.etag as string })).statusCode).toBe(304);
    const pinned = await get(img.versionedUrl);
    expect([pinned.statusCode, pinned.headers['cache-control'], pinned.headers.etag]).toEqual([200, IMMUTABLE, plain.headers.etag]);
    expect(Buffer.compare(pinned.rawPayload, plain.rawPayload)).toBe(0);
    expect((await get(`${img.versionedUrl}&w=20`)).headers['cache-control']).toBe(IMMUTABLE);
    expect((await get(`${img.url}?w=20`)).headers['cache-control']).toBe(REVALIDATE);
    // The same versions through the API: GET, list.
    expect((await call(stack, 'GET', `/api/v1/images/${img.id}`)).json().data.versionedUrl).toBe(img.versionedUrl);
    const openapi = (await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(openapi.components.schemas.Image.properties.versionedUrl).toEqual({ type: 'string' });
    expect(openapi.components.schemas.Image.required).toContain('versionedUrl');
  });

  it('a new focal point is a new version: the old versionedUrl answers the current bytes with a short max-age', async () => {
    const img = await uploadPng();
    const updated = (await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.2, y: 0.3 } })).json().data;
    expect(updated.version).toBe(2);
    expect(updated.versionedUrl).toBe(`${img.url}?v=2`);
    const stale = await get(`${img.versionedUrl}&w=20&h=20`);
    expect([stale.statusCode, stale.headers['cache-control']]).toEqual([200, REVALIDATE]);
    const current = await get(`${updated.versionedUrl}&w=20&h=20`);
    expect([current.headers['cache-control'], current.headers.etag]).toEqual([IMMUTABLE, stale.headers.etag]);
    // Setting the same focal point again changes nothing.
    expect((await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.2, y: 0.3 } })).json().data.version).toBe(2);
    expect((await call(stack, 'PUT', `/api/v1/images/${img.id}`, { meta: { a: 1 } })).json().data.version).toBe(2);
  });

  it('a regeneration is a new version: the old versionedUrl is no longer immutable', async () => {
    const g = await generateAndWait(stack, { prompt: 'a quiet harbour' });
    const before = g.outputImage;
    expect((await get(before.versionedUrl)).headers['cache-control']).toBe(IMMUTABLE);
    await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { prompt: 'a stormy harbour' });
    const after = (await waitForTerminal(stack, g.id)).outputImage;
    expect(after.version).toBe(2);
    const stale = await get(before.versionedUrl);
    expect([stale.statusCode, stale.headers['cache-control']]).toEqual([200, REVALIDATE]);
    expect(Buffer.compare(stale.rawPayload, (await get(after.url)).rawPayload)).toBe(0);
    expect((await get(after.versionedUrl)).headers['cache-control']).toBe(IMMUTABLE);
  });
});

describe('deleted images and public errors', () => {
  it('a deleted image is 404 with Cache-Control: no-store, by id, versioned URL and variant, with a generic body and the request id', async () => {
    const img = await uploadPng();
    expect((await get(`${img.url}?w=10`)).statusCode).toBe(200);
    expect((await call(stack, 'DELETE', `/api/v1/images/${img.id}`)).statusCode).toBe(200);
    for (const url of [img.url, img.versionedUrl, `${img.versionedUrl}&w=10`]) {
      const res = await get(url);
      expect([res.statusCode, res.headers['cache-control'], res.headers.etag, res.headers['x-image-id']]).toEqual([404, 'no-store', undefined, undefined]);
      expect(res.json()).toEqual({ success: false, error: { code: 'NOT_FOUND', message: 'Image not found', requestId: res.headers['x-request-id'] } });
    }
  });

  it('an image whose bytes are gone from storage is a plain 404, not the immutable headers set before the read', async () => {
    const img = await uploadPng();
    await stack.deps.storage.delete(`${img.projectId}/${img.id}`);
    const res = await get(img.versionedUrl);
    expect([res.statusCode, res.headers['cache-control'], res.headers.etag]).toEqual([404, 'no-store', undefined]);
  });

  it('an internal failure answers a generic 500 with the request id, never the error text', async () => {
    const img = await uploadPng();
    const real = stack.deps.storage.get.bind(stack.deps.storage);
    stack.deps.storage.get = async () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:9000 bucket=secret-bucket');
    };
    try {
      const res = await get(img.url);
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(res.body).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|secret-bucket/);
      expect(res.json().error.requestId).toBe(res.headers['x-request-id']);
      expect(res.headers['cache-control']).toBe('no-store');
    } finally {
      stack.deps.storage.get = real;
    }
  });

  it('query errors keep their code and gain the request id', async () => {
    const img = await uploadPng();
    const res = await get(`${img.url}?w=0`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', requestId: res.headers['x-request-id'] });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
