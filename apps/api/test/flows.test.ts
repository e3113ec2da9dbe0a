import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { call, generateAndWait, png, upload } from './image-helpers.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  key = (await stack.createKey('acme', 'flows')).key;
});
afterAll(async () => stack?.close());

const generate = (body: Record<string, unknown>) => generateAndWait(stack, body, key);
const get = (url: string) => call(stack, 'GET', url, undefined, key);

describe('flows', () => {
  it('are created implicitly; list/get show aliases and computed counts; generations and images per flow', async () => {
    const g1 = await generate({ prompt: 'flow start', flowAlias: '@start' });
    const flowId = g1.flowId;
    const g2 = await generate({ prompt: 'flow next', flowId });
    const up = (await upload(stack, { flowId }, { data: await png() }, key)).json().data;
    const flow = (await get(`/api/v1/flows/${flowId}`)).json().data;
    expect(flow).toMatchObject({ id: flowId, aliases: { '@start': g1.outputImageId }, generationCount: 2, imageCount: 3, meta: {} });
    expect(Date.parse(flow.updatedAt)).toBeGreaterThanOrEqual(Date.parse(flow.createdAt));

    const list = (await get('/api/v1/flows')).json();
    expect(list.data[0]).toEqual(flow);
    expect(list.pagination.total).toBe(1);

    const gens = (await get(`/api/v1/flows/${flowId}/generations`)).json();
    expect(gens.data.map((g: any) => g.id)).toEqual([g2.id, g1.id]);
    const imgs = (await get(`/api/v1/flows/${flowId}/images?limit=2`)).json();
    expect(imgs.data.map((i: any) => i.id)).toEqual([up.id, g2.outputImageId]);
    expect(imgs.pagination).toEqual({ total: 3, limit: 2, offset: 0, hasMore: true });
  });

  it('unknown or malformed flow ids are 404 Flow not found on every route', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
      for (const [method, url, body] of [
        ['GET', `/api/v1/flows/${id}`],
        ['GET', `/api/v1/flows/${id}/generations`],
        ['GET', `/api/v1/flows/${id}/images`],
        ['PUT', `/api/v1/flows/${id}/aliases`, { aliases: {} }],
        ['DELETE', `/api/v1/flows/${id}/aliases/%40x`],
        ['POST', `/api/v1/flows/${id}/regenerate`],
        ['DELETE', `/api/v1/flows/${id}`],
      ] as const) {
        const res = await call(stack, method, url, body, key);
        expect([method, url, res.statusCode, res.json().error?.message]).toEqual([method, url, 404, 'Flow not found']);
      }
    }
  });

  it('PUT aliases merges; values must be images of this project; DELETE alias removes one', async () => {
    const g = await generate({ prompt: 'aliases' });
    const a = (await upload(stack, { flowId: 'null' }, { data: await png() }, key)).json().data;
    const put1 = await call(stack, 'PUT', `/api/v1/flows/${g.flowId}/aliases`, { aliases: { '@one': g.outputImageId } }, key);
    expect(put1.statusCode).toBe(200);
    const put2 = await call(stack, 'PUT', `/api/v1/flows/${g.flowId}/aliases`, { aliases: { '@two': a.id, '@one': a.id } }, key);
    expect(put2.json().data.aliases).toEqual({ '@one': a.id, '@two': a.id });

    const unknown = await call(stack, 'PUT', `/api/v1/flows/${g.flowId}/aliases`, { aliases: { '@three': '00000000-0000-4000-8000-000000000000' } }, key);
    expect([unknown.statusCode, unknown.json().error.message]).toEqual([404, 'Image not found']);
    const badFormat = await call(stack, 'PUT', `/api/v1/flows/${g.flowId}/aliases`, { aliases: { three: a.id } }, key);
    expect([badFormat.statusCode, badFormat.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
    const extra = await call(stack, 'PUT', `/api/v1/flows/${g.flowId}/aliases`, { aliases: {}, more: 1 }, key);
    expect(extra.statusCode).toBe(400);
    expect((await get(`/api/v1/flows/${g.flowId}`)).json().data.aliases).toEqual({ '@one': a.id, '@two': a.id });

    const del = await call(stack, 'DELETE', `/api/v1/flows/${g.flowId}/aliases/${encodeURIComponent('@one')}`, undefined, key);
    expect([del.statusCode, del.json().data.aliases]).toEqual([200, { '@two': a.id }]);
    const again = await call(stack, 'DELETE', `/api/v1/flows/${g.flowId}/aliases/${encodeURIComponent('@one')}`, undefined, key);
    expect([again.statusCode, again.json().error.message]).toEqual([404, 'Alias not found']);
  });

  it('POST /flows/:id/regenerate regenerates the latest generation in place', async () => {
    const first = await generate({ prompt: 'older' });
    const latest = await generate({ prompt: 'latest', flowId: first.flowId });
    const res = await call(stack, 'POST', `/api/v1/flows/${first.flowId}/regenerate`, undefined, key);
    expect(res.statusCode).toBe(202);
    expect(res.json().data).toMatchObject({ id: latest.id, status: 'pending' });
    const done = await waitForTerminal(stack, latest.id, key);
    expect([done.status, done.outputImageId, done.outputImage.version]).toEqual(['success', latest.outputImageId, 1]);
    const empty = (await upload(stack, {}, { data: await png() }, key)).json().data;
    const none = await call(stack, 'POST', `/api/v1/flows/${empty.flowId}/regenerate`, undefined, key);
    expect([none.statusCode, none.json().error.message]).toEqual([404, 'Generation not found']);
  });

  it('DELETE removes the flow; its generations and images remain with flowId null', async () => {
    const g = await generate({ prompt: 'orphan' });
    const up = (await upload(stack, { flowId: g.flowId }, { data: await png() }, key)).json().data;
    const del = await call(stack, 'DELETE', `/api/v1/flows/${g.flowId}`, undefined, key);
    expect([del.statusCode, del.json()]).toEqual([200, { success: true, data: { id: g.flowId } }]);
    expect((await get(`/api/v1/flows/${g.flowId}`)).statusCode).toBe(404);
    expect((await get(`/api/v1/generations/${g.id}`)).json().data.flowId).toBeNull();
    expect((await get(`/api/v1/images/${up.id}`)).json().data.flowId).toBeNull();
    expect((await get(`/api/v1/images/${g.outputImageId}`)).json().data.flowId).toBeNull();
  });
});
