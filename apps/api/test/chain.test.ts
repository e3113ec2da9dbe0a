import { variantKey } from '@banatie/core';
import { createObjectStorage } from '@banatie/storage';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { call, cdnPath, png, upload } from './image-helpers.js';

/**
 * The full chain through the real @google/genai SDK against the fake Gemini
 * server and S3 storage: upload → reference by alias → flow alias → @last →
 * regenerate in place with re-resolved aliases and current project settings.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 's3', provider: 'gemini' });
});
afterAll(async () => stack?.close());

const imageRequests = () => stack.fake!.requests.filter((r) => r.model.includes('image'));
const inlineData = (i: number) =>
  (imageRequests()[i]!.body.contents ?? []).flatMap((c) => c.parts ?? []).filter((p) => p.inlineData).map((p) => Buffer.from(p.inlineData!.data!, 'base64'));
const bytesOf = async (url: string) => (await stack.app.inject({ method: 'GET', url: cdnPath(url) })).rawPayload;
const submitAndWait = async (body: object) => {
  const res = await call(stack, 'POST', '/api/v1/generations', { autoEnhance: false, ...body });
  expect(res.statusCode).toBe(202);
  return waitForTerminal(stack, res.json().data.id);
};

describe('logo → mug → mug at night → @last → regenerate', () => {
  it('works end to end', async () => {
    // 1. Upload a logo with alias @logo.
    const logo = (await upload(stack, { alias: '@logo' }, { data: await png(32, 32, { r: 255, g: 0, b: 0 }) })).json().data;
    expect(logo.alias).toBe('@logo');
    const logoBytes = await bytesOf(logo.url);

    // 2. "a mug with @logo" in a new flow, flowAlias @mug: the logo's bytes go to the model.
    const mug = await submitAndWait({ prompt: 'a mug with @logo', flowAlias: '@mug' });
    expect(mug.status).toBe('success');
    expect(mug.referenceImages).toEqual([{ imageId: logo.id, alias: '@logo' }]);
    expect(mug.outputImage.flowAliases).toEqual(['@mug']);
    expect(inlineData(0)).toEqual([logoBytes]);
    const flowId = mug.flowId;

    // 3. "the same mug at night" referencing @mug in that flow.
    const night = await submitAndWait({ prompt: 'the same mug at night', referenceImages: ['@mug'], flowId });
    expect(night.status).toBe('success');
    expect(night.referenceImages).toEqual([{ imageId: mug.outputImageId, alias: '@mug' }]);
    expect(inlineData(1)).toEqual([await bytesOf(mug.outputImage.url)]);

    // 4. @last in the flow is the night mug.
    const last = (await call(stack, 'GET', `/api/v1/images/resolve/%40last?flowId=${flowId}`)).json().data;
    expect(last.image.id).toBe(night.outputImageId);
    expect(last.resolution).toEqual({ alias: '@last', scope: 'technical', flowId });

    // 5. Refresh @logo and change the project style, then regenerate the first generation.
    const newLogo = (await upload(stack, { alias: '@logo', flowId: 'null' }, { data: await png(32, 32, { r: 0, g: 0, b: 255 }) })).json().data;
    await call(stack, 'PUT', '/api/v1/project', { stylePrompt: 'in watercolour' });
    const before = await stack.app.inject({ method: 'GET', url: cdnPath(mug.outputImage.url) });
    const regen = await call(stack, 'POST', `/api/v1/generations/${mug.id}/regenerate`, undefined, undefined, { prefer: 'wait=30' });
    expect(regen.statusCode).toBe(200);
    expect(regen.headers.location).toBe(`/api/v1/generations/${mug.id}`);
    const again = regen.json().data;
    expect(again).toMatchObject({ id: mug.id, status: 'success', outputImageId: mug.outputImageId, prompt: 'a mug with @logo\n\nin watercolour' });
    expect(again.referenceImages).toEqual([{ imageId: newLogo.id, alias: '@logo' }]);
    expect(again.outputImage.url).toBe(mug.outputImage.url);
    expect(again.outputImage.version).toBe(2);
    expect(imageRequests().at(-1)!.text).toContain('in watercolour');
    expect(inlineData(imageRequests().length - 1)).toEqual([await bytesOf(newLogo.url)]);

    const after = await stack.app.inject({ method: 'GET', url: cdnPath(mug.outputImage.url), headers: { 'if-none-match': before.headers.etag as string } });
    expect(after.statusCode).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.headers['x-image-id']).toBe(mug.outputImageId);
    expect(Buffer.compare(after.rawPayload, before.rawPayload)).not.toBe(0);
    expect((await sharp(after.rawPayload).metadata()).format).toBe('png');
    // The flow alias still points at the same image id.
    expect((await call(stack, 'GET', `/api/v1/flows/${flowId}`)).json().data.aliases).toEqual({ '@mug': mug.outputImageId });
  });

  it('deleting an image removes its S3 object and variants', async () => {
    const storage = createObjectStorage(stack.config.storage);
    const img = (await upload(stack, { flowId: 'null' }, { data: await png(40, 40) })).json().data;
    expect((await stack.app.inject({ method: 'GET', url: `${cdnPath(img.url)}?w=10&format=webp` })).statusCode).toBe(200);
    const row = await stack.db.selectFrom('images').selectAll().where('id', '=', img.id).executeTakeFirstOrThrow();
    const variant = variantKey(row, { w: 10, format: 'webp' });
    expect(variant.startsWith(`${img.projectId}/variants/${img.id}/`)).toBe(true);
    expect([await storage.stat(row.storage_key), await storage.stat(variant)].map((s) => s !== null)).toEqual([true, true]);
    expect((await call(stack, 'DELETE', `/api/v1/images/${img.id}`)).statusCode).toBe(200);
    expect([await storage.stat(row.storage_key), await storage.stat(variant)]).toEqual([null, null]);
    expect((await stack.app.inject({ method: 'GET', url: `${cdnPath(img.url)}?w=10&format=webp` })).statusCode).toBe(404);
  });
});
