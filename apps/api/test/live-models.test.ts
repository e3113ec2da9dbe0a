import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveUrl, signLiveUrl } from '../../../packages/sdk/src/index.js';
import { startStack, type Stack } from './harness.js';

/** SPEC §13: live URLs take `model` and `imageSize`, part of the cache key and of the signed canonical string. */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { LIVE_MISS_PER_IP_PER_HOUR: '0' } });
});
afterAll(async () => stack?.close());

const api = (method: 'GET' | 'POST', url: string, payload?: object) =>
  stack.app.inject({ method, url, headers: { 'x-api-key': stack.key.key }, ...(payload ? { payload } : {}) });
const generationCount = async () => Number((await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
const path = (u: string) => {
  const parsed = new URL(u);
  return `${parsed.pathname}${parsed.search}`;
};

describe('live URL model parameters', () => {
  it('generates with the model and size, and keys the cache on them', async () => {
    const url = '/cdn/acme/site/live/hero?prompt=a%20harbour&model=gemini-3-pro-image-preview&imageSize=2K';
    const miss = await stack.app.inject({ method: 'GET', url });
    expect(miss.statusCode, miss.body).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('MISS');
    expect((await sharp(miss.rawPayload).metadata()).width).toBe(2048);
    const generation = (await api('GET', `/api/v1/generations/${miss.headers['x-generation-id']}`)).json().data;
    expect(generation).toMatchObject({ model: 'gemini-3-pro-image-preview', imageSize: '2K' });

    expect((await stack.app.inject({ method: 'GET', url })).headers['x-cache-status']).toBe('HIT');
    // The default model and size are another entry.
    const plain = await stack.app.inject({ method: 'GET', url: '/cdn/acme/site/live/hero?prompt=a%20harbour' });
    expect(plain.headers['x-cache-status']).toBe('MISS');
    expect(plain.headers['x-image-id']).not.toBe(miss.headers['x-image-id']);
    // Naming the defaults explicitly is the same entry as leaving them out.
    const explicit = await stack.app.inject({ method: 'GET', url: '/cdn/acme/site/live/hero?prompt=a%20harbour&model=gemini-2.5-flash-image&imageSize=1K' });
    expect(explicit.headers['x-cache-status']).toBe('HIT');
    expect(explicit.headers['x-image-id']).toBe(plain.headers['x-image-id']);
  });

  it('refuses an option the model lacks with 400 naming it, no-store, creating nothing', async () => {
    const before = await generationCount();
    for (const [url, text] of [
      ['/cdn/acme/site/live/hero?prompt=x&imageSize=4K', 'imageSize 4K is not supported by model gemini-2.5-flash-image'],
      ['/cdn/acme/site/live/hero?prompt=x&model=imagen', 'Unknown model "imagen"'],
      ['/cdn/acme/site/live/hero?prompt=x&imageSize=3K', 'imageSize'],
    ] as const) {
      const res = await stack.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json().error.message).toContain(text);
    }
    expect(await generationCount()).toBe(before);
  });

  it('signs model and imageSize: the server signer, the SDK signer, and a tampered size is 403', async () => {
    expect((await api('POST', '/api/v1/live/scopes', { slug: 'signed', requireSignature: true })).statusCode).toBe(201);
    const signed = (await api('POST', '/api/v1/live/sign', { scope: 'signed', prompt: 'a signed harbour', model: 'gemini-3.1-flash-image-preview', imageSize: '512' })).json().data.url;
    expect(signed).toContain('model=gemini-3.1-flash-image-preview');
    expect(signed).toContain('imageSize=512');
    const ok = await stack.app.inject({ method: 'GET', url: path(signed) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await sharp(ok.rawPayload).metadata()).width).toBe(512);

    const tampered = path(signed).replace('imageSize=512', 'imageSize=2K');
    expect((await stack.app.inject({ method: 'GET', url: tampered })).statusCode).toBe(403);

    const project = (await api('GET', '/api/v1/project')).json().data;
    const sdkSigned = await signLiveUrl(
      liveUrl('http://cdn.test', { org: 'acme', project: 'site', scope: 'signed', prompt: 'a signed harbour', model: 'gemini-3.1-flash-image-preview', imageSize: '512' }),
      project.liveSigningSecret,
    );
    const hit = await stack.app.inject({ method: 'GET', url: path(sdkSigned) });
    expect(hit.statusCode).toBe(200);
    expect(hit.headers['x-cache-status']).toBe('HIT');
  });
});
