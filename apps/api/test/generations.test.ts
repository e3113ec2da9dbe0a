import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
});
afterAll(async () => stack?.close());

const submit = (body: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key, ...headers }, payload: body as object });

const cdnPath = (url: string) => new URL(url).pathname;

describe('generations with the local provider and fs storage', () => {
  it('submit → poll → success, with a real PNG of the right ratio at outputImage.url', async () => {
    const res = await submit({ prompt: '  a lighthouse at dawn  ', aspectRatio: '16:9' });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/generations/${res.json().data.id}`);
    const created = res.json().data;
    expect(created).toMatchObject({ status: 'pending', originalPrompt: 'a lighthouse at dawn', aspectRatio: '16:9', autoEnhance: true, template: 'general' });
    expect(created.flowId).toMatch(/^[0-9a-f-]{36}$/);

    const done = await waitForTerminal(stack, created.id);
    expect(done.status).toBe('success');
    expect(done.attempts).toBe(1);
    expect(done.error).toBeNull();
    expect(done.prompt).not.toBe(done.originalPrompt);
    expect(done.prompt.startsWith('a lighthouse at dawn')).toBe(true);
    expect(done.processingTimeMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(done.startedAt)).toBeLessThanOrEqual(Date.parse(done.completedAt));
    expect(done.outputImage).toMatchObject({ id: done.outputImageId, source: 'generated', mimeType: 'image/png', generationId: done.id, version: 1 });
    expect(done.outputImage.url).toBe(`http://cdn.test/cdn/acme/site/img/${done.outputImageId}`);

    const img = await stack.app.inject({ method: 'GET', url: cdnPath(done.outputImage.url) });
    expect(img.statusCode).toBe(200);
    expect(img.headers['content-type']).toBe('image/png');
    expect(img.headers['cache-control']).toBe('public, max-age=60, must-revalidate');
    expect(done.outputImage.versionedUrl).toBe(`${done.outputImage.url}?v=1`);
    expect(img.headers['x-content-type-options']).toBe('nosniff');
    expect(img.headers['x-image-id']).toBe(done.outputImageId);
    const meta = await sharp(img.rawPayload).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width! / meta.height!).toBeCloseTo(16 / 9, 1);
    expect({ width: meta.width, height: meta.height, size: img.rawPayload.length }).toEqual({
      width: done.outputImage.width,
      height: done.outputImage.height,
      size: done.outputImage.fileSize,
    });

    const notModified = await stack.app.inject({ method: 'GET', url: cdnPath(done.outputImage.url), headers: { 'if-none-match': img.headers.etag as string } });
    expect(notModified.statusCode).toBe(304);
    const head = await stack.app.inject({ method: 'HEAD', url: cdnPath(done.outputImage.url) });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe(img.headers.etag);
  });

  it('Prefer: wait answers 200 with the final object', async () => {
    const res = await submit({ prompt: 'a red bicycle', autoEnhance: false }, { prefer: 'wait=30' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['preference-applied']).toBe('wait=30');
    const data = res.json().data;
    expect(data.status).toBe('success');
    expect(data.prompt).toBe('a red bicycle');
    expect(data.originalPrompt).toBe('a red bicycle');
  });

  it('applies the project settings: stylePrompt, defaultAspectRatio, autoEnhanceDefault', async () => {
    const other = await stack.createKey('acme', 'styled');
    const put = await stack.app.inject({
      method: 'PUT',
      url: '/api/v1/project',
      headers: { 'x-api-key': other.key },
      payload: { stylePrompt: 'in watercolour', defaultAspectRatio: '4:3', autoEnhanceDefault: false },
    });
    expect(put.statusCode).toBe(200);
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': other.key, prefer: 'wait=30' }, payload: { prompt: 'a fox' } });
    const data = res.json().data;
    expect(data).toMatchObject({ status: 'success', aspectRatio: '4:3', autoEnhance: false, prompt: 'a fox\n\nin watercolour', originalPrompt: 'a fox' });
  });

  it('flows: omitted flowId starts a flow, null means none, a known flowId is kept', async () => {
    const a = (await submit({ prompt: 'one' })).json().data;
    const b = (await submit({ prompt: 'two', flowId: null })).json().data;
    const c = (await submit({ prompt: 'three', flowId: a.flowId })).json().data;
    expect(a.flowId).toBeTruthy();
    expect(b.flowId).toBeNull();
    expect(c.flowId).toBe(a.flowId);
    const list = await stack.app.inject({ method: 'GET', url: `/api/v1/generations?flowId=${a.flowId}`, headers: { 'x-api-key': stack.key.key } });
    expect(list.json().data.map((g: { id: string }) => g.id)).toEqual([c.id, a.id]);
  });

  it('assigns the alias to the output image, taking it over from the previous holder', async () => {
    const first = (await submit({ prompt: 'hero one', alias: '@hero', autoEnhance: false }, { prefer: 'wait=30' })).json().data;
    const second = (await submit({ prompt: 'hero two', alias: '@hero', autoEnhance: false }, { prefer: 'wait=30' })).json().data;
    expect(second.outputImage.alias).toBe('@hero');
    const byAlias = await stack.app.inject({ method: 'GET', url: '/cdn/acme/site/img/%40hero' });
    expect(byAlias.statusCode).toBe(200);
    expect(byAlias.headers['x-image-id']).toBe(second.outputImageId);
    expect(byAlias.headers['cache-control']).not.toContain('immutable');
    const again = (await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${first.id}`, headers: { 'x-api-key': stack.key.key } })).json().data;
    expect(again.outputImage.alias).toBeNull();
  });

  it('uses explicit reference images (by id and alias) and stores them resolved', async () => {
    const ref = (await submit({ prompt: 'a logo', alias: '@logo', autoEnhance: false }, { prefer: 'wait=30' })).json().data;
    const plain = (await submit({ prompt: 'a mug', autoEnhance: false }, { prefer: 'wait=30' })).json().data;
    const withRef = (await submit({ prompt: 'a mug', autoEnhance: false, referenceImages: ['@logo'] }, { prefer: 'wait=30' })).json().data;
    expect(withRef.status).toBe('success');
    expect(withRef.referenceImages).toEqual([{ imageId: ref.outputImageId, alias: '@logo' }]);
    const a = await stack.app.inject({ method: 'GET', url: cdnPath(plain.outputImage.url) });
    const b = await stack.app.inject({ method: 'GET', url: cdnPath(withRef.outputImage.url) });
    expect(Buffer.compare(a.rawPayload, b.rawPayload)).not.toBe(0);
    const byId = (await submit({ prompt: 'x', referenceImages: [ref.outputImageId] })).json().data;
    expect(byId.referenceImages).toEqual([{ imageId: ref.outputImageId, alias: null }]);
  });

  it('lists newest first with pagination and status filter', async () => {
    const key = await stack.createKey('acme', 'listing');
    const ids: string[] = [];
    for (const p of ['p1', 'p2', 'p3']) {
      const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': key.key, prefer: 'wait=30' }, payload: { prompt: p } });
      ids.push(res.json().data.id);
    }
    const page1 = (await stack.app.inject({ method: 'GET', url: '/api/v1/generations?limit=2', headers: { 'x-api-key': key.key } })).json();
    expect(page1.data.map((g: { id: string }) => g.id)).toEqual([ids[2], ids[1]]);
    expect(page1.pagination).toEqual({ total: 3, limit: 2, offset: 0, hasMore: true });
    const page2 = (await stack.app.inject({ method: 'GET', url: '/api/v1/generations?limit=2&offset=2', headers: { 'x-api-key': key.key } })).json();
    expect(page2.data.map((g: { id: string }) => g.id)).toEqual([ids[0]]);
    expect(page2.pagination).toEqual({ total: 3, limit: 2, offset: 2, hasMore: false });
    const past = (await stack.app.inject({ method: 'GET', url: '/api/v1/generations?limit=2&offset=10', headers: { 'x-api-key': key.key } })).json();
    expect(past.data).toEqual([]);
    expect(past.pagination).toEqual({ total: 3, limit: 2, offset: 10, hasMore: false });
    const failed = (await stack.app.inject({ method: 'GET', url: '/api/v1/generations?status=failed', headers: { 'x-api-key': key.key } })).json();
    expect(failed.pagination.total).toBe(0);
  });

  it('every response carries X-Request-Id', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/health' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await stack.app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'trace-123' } });
    expect(given.headers['x-request-id']).toBe('trace-123');
  });
});
