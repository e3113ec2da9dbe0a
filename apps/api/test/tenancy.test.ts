import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath, png, upload } from './image-helpers.js';

/** Project B must never see or touch project A's images, flows or generations, even with the same alias names. */
let stack: Stack;
let a: string;
let b: string;
let aGen: any, aImg: any, bImg: any;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  a = (await stack.createKey('org-a', 'proj')).key;
  b = (await stack.createKey('org-b', 'proj')).key;
  aImg = (await upload(stack, { alias: '@logo', flowAlias: '@hero' }, { data: await png(10, 10, { r: 1, g: 2, b: 3 }) }, a)).json().data;
  const res = await call(stack, 'POST', '/api/v1/generations', { prompt: 'A secret', alias: '@shared', flowId: aImg.flowId, autoEnhance: false }, a, { prefer: 'wait=30' });
  aGen = res.json().data;
  expect(aGen.status).toBe('success');
  bImg = (await upload(stack, { alias: '@other' }, { data: await png(10, 10, { r: 9, g: 9, b: 9 }) }, b)).json().data;
});
afterAll(async () => stack?.close());

const notFound = (res: { statusCode: number; json(): any }, message: string) => {
  expect([res.statusCode, res.json().error?.code, res.json().error?.message]).toEqual([404, 'NOT_FOUND', message]);
};

describe('tenant isolation', () => {
  it("B cannot read, update or delete A's image", async () => {
    notFound(await call(stack, 'GET', `/api/v1/images/${aImg.id}`, undefined, b), 'Image not found');
    notFound(await call(stack, 'PUT', `/api/v1/images/${aImg.id}`, { meta: { pwned: true } }, b), 'Image not found');
    notFound(await call(stack, 'PUT', `/api/v1/images/${aImg.id}/alias`, { alias: '@mine' }, b), 'Image not found');
    notFound(await call(stack, 'DELETE', `/api/v1/images/${aImg.id}`, undefined, b), 'Image not found');
    const still = (await call(stack, 'GET', `/api/v1/images/${aImg.id}`, undefined, a)).json().data;
    expect(still).toMatchObject({ alias: '@logo', meta: {} });
  });

  it("B's lists never include A's images, flows or generations", async () => {
    const imgs = (await call(stack, 'GET', '/api/v1/images', undefined, b)).json();
    expect(imgs.data.map((i: any) => i.id)).toEqual([bImg.id]);
    expect((await call(stack, 'GET', `/api/v1/images?flowId=${aImg.flowId}`, undefined, b)).json().data).toEqual([]);
    expect((await call(stack, 'GET', '/api/v1/images?alias=%40logo', undefined, b)).json().data).toEqual([]);
    expect((await call(stack, 'GET', '/api/v1/flows', undefined, b)).json().data.map((f: any) => f.id)).toEqual([bImg.flowId]);
    expect((await call(stack, 'GET', '/api/v1/generations', undefined, b)).json().data).toEqual([]);
  });

  it("B's aliases with the same names resolve to B's images, or to nothing", async () => {
    notFound(await call(stack, 'GET', '/api/v1/images/resolve/%40logo', undefined, b), 'Image not found');
    notFound(await call(stack, 'GET', '/api/v1/images/resolve/%40last', undefined, b), 'Image not found');
    notFound(await call(stack, 'GET', `/api/v1/images/resolve/%40hero?flowId=${aImg.flowId}`, undefined, b), 'Flow not found');
    const own = (await upload(stack, { alias: '@logo' }, { data: await png() }, b)).json().data;
    expect(own.alias).toBe('@logo');
    expect((await call(stack, 'GET', '/api/v1/images/resolve/%40logo', undefined, b)).json().data.image.id).toBe(own.id);
    expect((await call(stack, 'GET', '/api/v1/images/resolve/%40logo', undefined, a)).json().data.image.id).toBe(aImg.id);
    // A's alias was not taken over by B's upload.
    expect((await call(stack, 'GET', `/api/v1/images/${aImg.id}`, undefined, a)).json().data.alias).toBe('@logo');
    expect((await stack.app.inject({ method: 'GET', url: '/cdn/org-a/proj/img/%40logo' })).headers['x-image-id']).toBe(aImg.id);
    expect((await stack.app.inject({ method: 'GET', url: '/cdn/org-b/proj/img/%40logo' })).headers['x-image-id']).toBe(own.id);
  });

  it("B cannot reference A's images by id or alias, nor alias them in its flows", async () => {
    notFound(await call(stack, 'POST', '/api/v1/generations', { prompt: 'steal', referenceImages: [aImg.id] }, b), 'Image not found');
    notFound(await call(stack, 'POST', '/api/v1/generations', { prompt: 'steal', referenceImages: ['@shared'] }, b), 'Image not found');
    const prompt = await call(stack, 'POST', '/api/v1/generations', { prompt: 'steal @shared' }, b);
    expect(prompt.json().data.referenceImages).toEqual([]);
    expect(prompt.json().data.warnings).toHaveLength(1);
    notFound(await call(stack, 'PUT', `/api/v1/flows/${bImg.flowId}/aliases`, { aliases: { '@stolen': aImg.id } }, b), 'Image not found');
  });

  it("B cannot read, alias, regenerate or delete A's flows", async () => {
    for (const [method, url, body] of [
      ['GET', `/api/v1/flows/${aImg.flowId}`],
      ['GET', `/api/v1/flows/${aImg.flowId}/generations`],
      ['GET', `/api/v1/flows/${aImg.flowId}/images`],
      ['PUT', `/api/v1/flows/${aImg.flowId}/aliases`, { aliases: { '@x': bImg.id } }],
      ['DELETE', `/api/v1/flows/${aImg.flowId}/aliases/%40hero`],
      ['POST', `/api/v1/flows/${aImg.flowId}/regenerate`],
      ['DELETE', `/api/v1/flows/${aImg.flowId}`],
    ] as const) {
      notFound(await call(stack, method, url, body, b), 'Flow not found');
    }
    notFound(await call(stack, 'POST', '/api/v1/generations', { prompt: 'into A', flowId: aImg.flowId }, b), 'Flow not found');
    notFound(await upload(stack, { flowId: aImg.flowId }, { data: await png() }, b), 'Flow not found');
    const flow = (await call(stack, 'GET', `/api/v1/flows/${aImg.flowId}`, undefined, a)).json().data;
    expect(flow.aliases).toEqual({ '@hero': aImg.id });
  });

  it("B cannot read, regenerate, update or delete A's generations", async () => {
    notFound(await call(stack, 'GET', `/api/v1/generations/${aGen.id}`, undefined, b), 'Generation not found');
    notFound(await call(stack, 'POST', `/api/v1/generations/${aGen.id}/regenerate`, undefined, b), 'Generation not found');
    notFound(await call(stack, 'POST', `/api/v1/generations/${aGen.id}/retry`, undefined, b), 'Generation not found');
    notFound(await call(stack, 'PUT', `/api/v1/generations/${aGen.id}`, { meta: { x: 1 } }, b), 'Generation not found');
    notFound(await call(stack, 'DELETE', `/api/v1/generations/${aGen.id}`, undefined, b), 'Generation not found');
    notFound(await call(stack, 'PUT', `/api/v1/generations/${aGen.id}`, { flowId: bImg.flowId }, b), 'Generation not found');
    const still = (await call(stack, 'GET', `/api/v1/generations/${aGen.id}`, undefined, a)).json().data;
    expect(still).toMatchObject({ status: 'success', deletedAt: null, meta: {}, flowId: aImg.flowId });
    expect(still.outputImage.version).toBe(1);
  });

  it("A cannot attach its generation to B's flow", async () => {
    notFound(await call(stack, 'PUT', `/api/v1/generations/${aGen.id}`, { flowId: bImg.flowId }, a), 'Flow not found');
  });

  it("the CDN serves an image only under its own project's slugs", async () => {
    expect((await stack.app.inject({ method: 'GET', url: cdnPath(aImg.url) })).statusCode).toBe(200);
    expect((await stack.app.inject({ method: 'GET', url: `/cdn/org-b/proj/img/${aImg.id}` })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'GET', url: '/cdn/org-b/proj/img/%40shared' })).statusCode).toBe(404);
  });
});
