import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { call, cdnPath, generateAndWait, png, storedKeys, upload } from './image-helpers.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  key = (await stack.createKey('acme', 'regen')).key;
});
afterAll(async () => stack?.close());

const generate = (body: Record<string, unknown>) => generateAndWait(stack, body, key);
const get = (id: string, q = '') => call(stack, 'GET', `/api/v1/generations/${id}${q}`, undefined, key);
const bytes = async (url: string) => (await stack.app.inject({ method: 'GET', url: cdnPath(url) })).rawPayload;

describe('POST /generations/:id/regenerate', () => {
  it('re-resolves reference aliases: the local provider draws the new reference (same id, new bytes, version 2)', async () => {
    await upload(stack, { alias: '@ref', flowId: 'null' }, { data: await png(16, 16, { r: 250, g: 0, b: 0 }) }, key);
    const g = await generate({ prompt: 'with @ref' });
    const first = await bytes(g.outputImage.url);
    const newRef = (await upload(stack, { alias: '@ref', flowId: 'null' }, { data: await png(16, 16, { r: 0, g: 250, b: 0 }) }, key)).json().data;
    const res = await call(stack, 'POST', `/api/v1/generations/${g.id}/regenerate`, undefined, key);
    expect(res.statusCode).toBe(202);
    expect(res.json().data).toMatchObject({ id: g.id, status: 'pending', error: null, referenceImages: [{ imageId: newRef.id, alias: '@ref' }] });
    const done = await waitForTerminal(stack, g.id, key);
    expect(done).toMatchObject({ status: 'success', outputImageId: g.outputImageId, attempts: 1 });
    expect(done.outputImage.version).toBe(2);
    expect(Buffer.compare(await bytes(done.outputImage.url), first)).not.toBe(0);
  });

  it('an identical rerun keeps version and ETag (the local provider is deterministic)', async () => {
    const g = await generate({ prompt: 'stable' });
    const again = (await call(stack, 'POST', `/api/v1/generations/${g.id}/regenerate`, undefined, key, { prefer: 'wait=30' })).json().data;
    expect(again.outputImage.version).toBe(1);
  });

  it('works for a failed generation; /retry is a deprecated alias', async () => {
    const g = await generate({ prompt: 'will be marked failed' });
    await stack.db.updateTable('generations').set({ status: 'failed', error_code: 'TIMEOUT', error_message: 'x' }).where('id', '=', g.id).execute();
    const res = await call(stack, 'POST', `/api/v1/generations/${g.id}/retry`, undefined, key, { prefer: 'wait=30' });
    expect(res.statusCode).toBe(200);
    expect(res.headers.deprecation).toBe('true');
    expect(res.json().data).toMatchObject({ status: 'success', error: null, outputImageId: g.outputImageId });
  });

  it('the project settings current at regeneration time apply', async () => {
    const own = await stack.createKey('acme', 'regen-settings');
    const sub = await call(stack, 'POST', '/api/v1/generations', { prompt: 'a fox', autoEnhance: false }, own.key, { prefer: 'wait=30' });
    expect(sub.json().data.prompt).toBe('a fox');
    await call(stack, 'PUT', '/api/v1/project', { stylePrompt: 'in pencil' }, own.key);
    const again = (await call(stack, 'POST', `/api/v1/generations/${sub.json().data.id}/regenerate`, undefined, own.key, { prefer: 'wait=30' })).json().data;
    expect(again.prompt).toBe('a fox\n\nin pencil');
    expect(again.outputImage.version).toBe(2);
  });

  it('unknown, malformed or deleted generations are 404', async () => {
    const g = await generate({ prompt: 'deleted soon' });
    await call(stack, 'DELETE', `/api/v1/generations/${g.id}`, undefined, key);
    for (const id of [g.id, 'nope', '00000000-0000-4000-8000-000000000000']) {
      const res = await call(stack, 'POST', `/api/v1/generations/${id}/regenerate`, undefined, key);
      expect([res.statusCode, res.json().error.message]).toEqual([404, 'Generation not found']);
    }
  });

  it('a reference alias that no longer resolves makes regeneration 404, nothing changes', async () => {
    const ref = (await upload(stack, { alias: '@gone', flowId: 'null' }, { data: await png() }, key)).json().data;
    const g = await generate({ prompt: 'x', referenceImages: ['@gone'] });
    await call(stack, 'DELETE', `/api/v1/images/${ref.id}`, undefined, key);
    const res = await call(stack, 'POST', `/api/v1/generations/${g.id}/regenerate`, undefined, key);
    expect([res.statusCode, res.json().error.message]).toEqual([404, 'Image not found']);
    expect((await get(g.id)).json().data.status).toBe('success');
  });
});

describe('PUT /generations/:id', () => {
  it('a new prompt or aspect ratio regenerates in place; meta is stored only', async () => {
    const g = await generate({ prompt: 'a boat', aspectRatio: '1:1' });
    const metaOnly = await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { meta: { tag: 'x' } }, key);
    expect(metaOnly.json().data).toMatchObject({ status: 'success', meta: { tag: 'x' } });
    const res = await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { prompt: 'a ship', aspectRatio: '16:9' }, key);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ status: 'pending', originalPrompt: 'a ship', aspectRatio: '16:9' });
    const done = await waitForTerminal(stack, g.id, key);
    expect(done).toMatchObject({ status: 'success', prompt: 'a ship', outputImageId: g.outputImageId, meta: { tag: 'x' } });
    expect(done.outputImage.version).toBe(2);
    expect(done.outputImage.width / done.outputImage.height).toBeCloseTo(16 / 9, 1);
  });

  it('flowId attaches (uuid) and detaches (null), moving the output image too', async () => {
    const g = await generate({ prompt: 'movable', flowId: null });
    const target = (await upload(stack, {}, { data: await png() }, key)).json().data.flowId;
    const attached = (await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { flowId: target }, key)).json().data;
    expect([attached.flowId, attached.outputImage.flowId, attached.status]).toEqual([target, target, 'success']);
    const detached = (await call(stack, 'PUT', `/api/v1/generations/${g.id}`, { flowId: null }, key)).json().data;
    expect([detached.flowId, detached.outputImage.flowId]).toEqual([null, null]);
  });

  it.each([
    [{ prompt: '' }, 400, 'Prompt is required'],
    [{ aspectRatio: '7:5' }, 400, 'Invalid aspect ratio'],
    [{ flowId: 'abc' }, 400, 'flowId must be a UUID or null'],
    [{ status: 'success' }, 400, undefined],
    [{ flowId: '00000000-0000-4000-8000-000000000000' }, 404, 'Flow not found'],
    [{ prompt: 'a \u0000 b' }, 400, 'Prompt must not contain NUL characters'],
    [{ meta: { note: 'a\u0000' } }, 400, 'meta must not contain NUL characters'],
  ])('%o → %i', async (body, status, message) => {
    const g = await generate({ prompt: 'validated' });
    const res = await call(stack, 'PUT', `/api/v1/generations/${g.id}`, body, key);
    expect(res.statusCode).toBe(status);
    if (message) expect(res.json().error.message).toBe(message);
    expect((await get(g.id)).json().data).toMatchObject({ status: 'success', flowId: g.flowId, prompt: 'validated' });
  });
});

describe('DELETE /generations/:id', () => {
  it('soft-deletes and hard-deletes an unaliased output image (row and object)', async () => {
    const g = await generate({ prompt: 'throwaway' });
    expect((await storedKeys(stack)).some((k) => k.endsWith(g.outputImageId))).toBe(true);
    const del = await call(stack, 'DELETE', `/api/v1/generations/${g.id}`, undefined, key);
    expect([del.statusCode, del.json()]).toEqual([200, { success: true, data: { id: g.id } }]);
    const list = (await call(stack, 'GET', '/api/v1/generations', undefined, key)).json().data.map((x: any) => x.id);
    expect(list).not.toContain(g.id);
    const withDeleted = (await call(stack, 'GET', '/api/v1/generations?includeDeleted=true', undefined, key)).json().data;
    const row = withDeleted.find((x: any) => x.id === g.id);
    expect(row.deletedAt).not.toBeNull();
    expect((await call(stack, 'GET', `/api/v1/images/${g.outputImageId}`, undefined, key)).statusCode).toBe(404);
    expect((await storedKeys(stack)).some((k) => k.includes(g.outputImageId))).toBe(false);
    expect((await call(stack, 'DELETE', `/api/v1/generations/${g.id}`, undefined, key)).statusCode).toBe(404);
  });

  it.each([
    ['a project alias', { alias: '@keepme' }],
    ['a flow alias', { flowAlias: '@keepflow' }],
  ])('keeps an output image that carries %s, detached from the generation', async (_n, aliases) => {
    const g = await generate({ prompt: 'keeper', ...aliases });
    const del = await call(stack, 'DELETE', `/api/v1/generations/${g.id}`, undefined, key);
    expect(del.statusCode).toBe(200);
    const img = await call(stack, 'GET', `/api/v1/images/${g.outputImageId}`, undefined, key);
    expect(img.statusCode).toBe(200);
    expect(img.json().data.generationId).toBeNull();
    expect((await stack.app.inject({ method: 'GET', url: cdnPath(g.outputImage.url) })).statusCode).toBe(200);
  });
});
