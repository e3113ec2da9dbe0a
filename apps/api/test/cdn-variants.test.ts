import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { call, cdnPath, storedKeys, upload } from './image-helpers.js';

let stack: Stack;
let img: any;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  // 200×100: left half red, right half blue.
  const data = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } })
    .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#0000ff' } }, left: 100, top: 0 }])
    .png()
    .toBuffer();
  img = (await upload(stack, { alias: '@banner', flowId: 'null' }, { data })).json().data;
});
afterAll(async () => stack?.close());

const get = (query: string, headers: Record<string, string> = {}, path = cdnPath(img.url)) =>
  stack.app.inject({ method: 'GET', url: `${path}${query}`, headers });
const meanColour = async (buf: Buffer) => {
  const { channels } = await sharp(buf).stats();
  return { r: Math.round(channels[0]!.mean), b: Math.round(channels[2]!.mean) };
};

describe('public delivery variants', () => {
  it('resizes and converts: w keeps the ratio, format and q change the encoding', async () => {
    const res = await get('?w=50&format=webp&q=60');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/webp');
    expect(res.headers['cache-control']).toBe('public, max-age=60, must-revalidate');
    expect(res.headers['x-image-id']).toBe(img.id);
    const meta = await sharp(res.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 50, 25]);
    const jpeg = await get('?w=50&format=jpeg&q=90');
    expect((await sharp(jpeg.rawPayload).metadata()).format).toBe('jpeg');
    expect(jpeg.headers.etag).not.toBe(res.headers.etag);
    const low = await get('?w=50&format=jpeg&q=5');
    expect(low.rawPayload.length).toBeLessThan(jpeg.rawPayload.length);
  });

  it('fit: cover and contain fill the box, inside fits within it', async () => {
    const dims = async (q: string) => {
      const m = await sharp((await get(q)).rawPayload).metadata();
      return [m.width, m.height];
    };
    expect(await dims('?w=60&h=60&fit=cover')).toEqual([60, 60]);
    expect(await dims('?w=60&h=60&fit=contain')).toEqual([60, 60]);
    expect(await dims('?w=60&h=60&fit=inside')).toEqual([60, 30]);
  });

  it('cover crops around the focal point', async () => {
    const centre = await meanColour((await get('?w=40&h=40&fit=cover&format=png')).rawPayload);
    await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.95, y: 0.5 } });
    const right = await get('?w=40&h=40&fit=cover&format=png');
    expect(await meanColour(right.rawPayload)).toEqual({ r: 0, b: 255 });
    await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.05, y: 0.5 } });
    const left = await get('?w=40&h=40&fit=cover&format=png');
    expect(await meanColour(left.rawPayload)).toEqual({ r: 255, b: 0 });
    expect(left.headers.etag).not.toBe(right.headers.etag);
    // Without a focal point the crop is centred: half red, half blue.
    expect(centre.r).toBeGreaterThan(100);
    expect(centre.b).toBeGreaterThan(100);
    await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: null });
  });

  it('variants are cached in storage and served from there', async () => {
    const first = await get('?w=20&format=png');
    const keys = (await storedKeys(stack)).filter((k) => k.startsWith(`${img.projectId}/variants/${img.id}/`));
    expect(keys.length).toBeGreaterThan(0);
    // Drop the original: the cached rendition is still served, byte for byte.
    const own = await stack.createKey('acme', 'cache-proof');
    const other = (await upload(stack, { flowId: 'null' }, { data: await sharp({ create: { width: 30, height: 30, channels: 3, background: '#0f0' } }).png().toBuffer() }, own.key)).json().data;
    const warm = await get('?w=10', {}, cdnPath(other.url));
    expect(warm.statusCode).toBe(200);
    if (stack.config.storage.driver !== 'fs') throw new Error('fs expected');
    await rm(join(stack.config.storage.dir, other.projectId, other.id));
    expect((await get('', {}, cdnPath(other.url))).statusCode).toBe(404);
    const cached = await get('?w=10', {}, cdnPath(other.url));
    expect(cached.statusCode).toBe(200);
    expect(Buffer.compare(cached.rawPayload, warm.rawPayload)).toBe(0);
    expect(first.statusCode).toBe(200);
  });

  it('ETag, If-None-Match → 304, HEAD; aliases are cached briefly', async () => {
    const res = await get('?w=30');
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await get('?w=30', { 'if-none-match': etag })).statusCode).toBe(304);
    expect((await get('?w=31', { 'if-none-match': etag })).statusCode).toBe(200);
    const head = await stack.app.inject({ method: 'HEAD', url: `${cdnPath(img.url)}?w=30` });
    expect([head.statusCode, head.headers.etag, head.headers['content-type'], head.rawPayload.length]).toEqual([200, etag, 'image/png', 0]);
    const alias = await get('?w=30', {}, '/cdn/acme/site/img/%40banner');
    expect([alias.statusCode, alias.headers['cache-control'], alias.headers.etag]).toEqual([200, 'public, max-age=60, must-revalidate', etag]);
  });

  it.each(['?w=0', '?w=4097', '?h=-1', '?w=abc', '?fit=fill', '?format=gif', '?q=0', '?q=101', '?colour=red'])('%s → 400 VALIDATION_ERROR', async (q) => {
    const res = await get(q);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
  });

  it.each([
    ['/cdn/acme/site/img/%40x%', 'Malformed URL'],
    [`/cdn/acme/site/img/${'a'.repeat(200)}`, 'A path parameter is too long'],
    ['/api/v1/images/resolve/%E0%A4%A', 'Malformed URL'],
  ])('%s → 400 in the usual envelope', async (url, message) => {
    const res = await stack.app.inject({ method: 'GET', url, headers: { 'x-api-key': stack.key.key } });
    const isPublic = url.startsWith('/cdn/');
    const requestId = res.headers['x-request-id'];
    expect(requestId).toBeTruthy();
    expect([res.statusCode, res.json()]).toEqual([400, { success: false, error: { code: 'VALIDATION_ERROR', message, ...(isPublic ? { requestId } : {}) } }]);
    expect(res.headers['cache-control']).toBe(isPublic ? 'no-store' : undefined);
  });

  it('a regeneration drops stale variants; the new rendition has a new ETag', async () => {
    const res = await call(stack, 'POST', '/api/v1/generations', { prompt: 'sunrise', autoEnhance: false }, undefined, { prefer: 'wait=30' });
    const g = res.json().data;
    const before = await get('?w=16', {}, cdnPath(g.outputImage.url));
    const prefix = `${g.projectId}/variants/${g.outputImageId}/`;
    const staleKeys = (await storedKeys(stack)).filter((k) => k.startsWith(prefix));
    expect(staleKeys).toHaveLength(1);
    await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { prompt: 'sunset' });
    await waitForTerminal(stack, g.id);
    expect((await storedKeys(stack)).filter((k) => k.startsWith(prefix))).toEqual([]);
    const after = await get('?w=16', {}, cdnPath(g.outputImage.url));
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });
});
