import { BUILT_IN_PRICES, modelPricing } from '@banatie/core';
import { IMAGE_MODELS, IMAGE_MODEL_IDS, IMAGE_SIZES } from '@banatie/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { png, upload } from './image-helpers.js';

/** SPEC §13: models, image sizes and grounding through the API, the worker and the real SDK against the fake Gemini. */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ provider: 'gemini' });
});
afterAll(async () => stack?.close());
afterEach(async () => {
  stack.fake!.reset();
  await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload: { defaultModel: null, defaultImageSize: null } });
});

const post = (body: object, headers: Record<string, string> = {}) =>
  stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key, ...headers }, payload: { autoEnhance: false, ...body } });
const imageRequests = () => stack.fake!.requests.filter((r) => r.model.includes('image'));

describe('GET /api/v1/models', () => {
  it('lists every allowed model with its capabilities and the default', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/api/v1/models', headers: { 'x-api-key': stack.key.key } });
    expect(res.statusCode).toBe(200);
    const models = res.json().data;
    expect(models.map((m: { id: string }) => m.id)).toEqual([...IMAGE_MODEL_IDS]);
    expect(models.find((m: { id: string }) => m.id === 'gemini-3-pro-image-preview')).toEqual({
      id: 'gemini-3-pro-image-preview',
      displayName: IMAGE_MODELS['gemini-3-pro-image-preview'].displayName,
      default: false,
      imageSizes: ['1K', '2K', '4K'],
      aspectRatios: ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'],
      maxReferenceImages: 14,
      searchGrounding: true,
      batch: true,
      pricing: modelPricing(BUILT_IN_PRICES, 'gemini-3-pro-image-preview'),
    });
    const pro = models.find((m: { id: string }) => m.id === 'gemini-3-pro-image-preview');
    expect(pro.pricing.standard.imageOutput['4K']).toBeGreaterThan(0);
    expect(pro.pricing.batch.imageOutput['4K']).toBeLessThan(pro.pricing.standard.imageOutput['4K']);
    expect(models.filter((m: { default: boolean }) => m.default).map((m: { id: string }) => m.id)).toEqual(['gemini-2.5-flash-image']);
  });

  it('needs a key', async () => {
    expect((await stack.app.inject({ method: 'GET', url: '/api/v1/models' })).statusCode).toBe(401);
  });
});

describe('validation of every model and option combination', () => {
  const combos = IMAGE_MODEL_IDS.flatMap((model) => IMAGE_SIZES.flatMap((imageSize) => [false, true].map((groundWithSearch) => ({ model, imageSize, groundWithSearch }))));

  it.each(combos)('%o', async ({ model, imageSize, groundWithSearch }) => {
    const caps = IMAGE_MODELS[model];
    const sizeOk = (caps.imageSizes as readonly string[]).includes(imageSize);
    const groundOk = !groundWithSearch || caps.searchGrounding;
    const prompt = `combo ${model} ${imageSize} ${groundWithSearch}`;
    const res = await post({ prompt, model, imageSize, groundWithSearch });
    if (sizeOk && groundOk) {
      expect(res.statusCode).toBe(202);
      expect(res.json().data).toMatchObject({ model, imageSize, groundWithSearch });
      return;
    }
    expect(res.statusCode).toBe(400);
    const { code, message } = res.json().error;
    expect(code).toBe('VALIDATION_ERROR');
    expect(message).toContain(sizeOk ? 'groundWithSearch' : 'imageSize');
    expect(message).toContain(model);
    expect(await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', prompt).execute()).toEqual([]);
  });

  it('refuses a model outside the allow-list, naming the allowed ones, and stores nothing', async () => {
    const res = await post({ prompt: 'unknown model', model: 'imagen-4' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('gemini-2.5-flash-image, gemini-3-pro-image-preview, gemini-3.1-flash-image-preview');
    const rows = await stack.db.selectFrom('generations').select('id').where('prompt', '=', 'unknown model').execute();
    expect(rows).toEqual([]);
  });

  it('refuses an image size no model has', async () => {
    const res = await post({ prompt: 'bad size', model: 'gemini-3-pro-image-preview', imageSize: '8K' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('imageSize');
  });

  it('takes the model defaults: the operator default model at its smallest size, no grounding', async () => {
    const res = await post({ prompt: 'defaults' });
    expect(res.json().data).toMatchObject({ model: 'gemini-2.5-flash-image', imageSize: '1K', groundWithSearch: false, batchId: null });
    const smallest = await post({ prompt: 'smallest', model: 'gemini-3.1-flash-image-preview' });
    expect(smallest.json().data).toMatchObject({ model: 'gemini-3.1-flash-image-preview', imageSize: '512' });
  });
});

describe('project defaults', () => {
  const putProject = (payload: object) => stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload });

  it('applies defaultModel and defaultImageSize on the plain and the general submit path alike', async () => {
    expect((await putProject({ defaultModel: 'gemini-3-pro-image-preview', defaultImageSize: '2K' })).json().data.settings).toMatchObject({
      defaultModel: 'gemini-3-pro-image-preview',
      defaultImageSize: '2K',
    });
    const plain = await post({ prompt: 'plain' });
    const general = await post({ prompt: 'general' }, { 'idempotency-key': 'defaults-general' });
    for (const res of [plain, general]) expect(res.json().data).toMatchObject({ model: 'gemini-3-pro-image-preview', imageSize: '2K' });
    // A model without the project's size gets its own smallest.
    const other = await post({ prompt: 'other model', model: 'gemini-2.5-flash-image' });
    expect(other.json().data).toMatchObject({ model: 'gemini-2.5-flash-image', imageSize: '1K' });
    // A size or grounding without a model is checked against the project's model.
    const grounded = await post({ prompt: 'grounded', groundWithSearch: true, imageSize: '4K' });
    expect(grounded.json().data).toMatchObject({ model: 'gemini-3-pro-image-preview', imageSize: '4K', groundWithSearch: true });
  });

  it('refuses a default model outside the allow-list', async () => {
    const res = await putProject({ defaultModel: 'gemini-1-image' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('gemini-1-image');
  });

  it('checks a size without a model against the project default model', async () => {
    const res = await post({ prompt: 'no 4K on 2.5', imageSize: '4K' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('gemini-2.5-flash-image');
  });
});

describe('what reaches Gemini', () => {
  it('generates with the chosen model, size and grounding, and shows them on the generation', async () => {
    const res = await post({ prompt: 'a 4K map of Lisbon', model: 'gemini-3-pro-image-preview', imageSize: '4K', groundWithSearch: true, aspectRatio: '16:9' });
    const done = await waitForTerminal(stack, res.json().data.id);
    expect(done).toMatchObject({ status: 'success', model: 'gemini-3-pro-image-preview', imageSize: '4K', groundWithSearch: true });
    const [sent] = imageRequests();
    expect(sent!.path).toBe('/v1/models/gemini-3-pro-image-preview:generateContent');
    expect(sent!.body.generationConfig?.imageConfig).toEqual({ aspectRatio: '16:9', imageSize: '4K' });
    expect(sent!.body.tools).toEqual([{ googleSearch: {} }]);
  });

  it('sends no imageSize at the default 1K and no tool without grounding', async () => {
    const done = await waitForTerminal(stack, (await post({ prompt: 'plain 1K' })).json().data.id);
    expect(done.status).toBe('success');
    const [sent] = imageRequests();
    expect(sent!.body.generationConfig?.imageConfig).toEqual({ aspectRatio: '1:1' });
    expect(sent!.body.tools).toBeUndefined();
  });

  it('sends 14 references as 14 inline parts to a Gemini 3 model; 4 are refused for gemini-2.5-flash-image', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) {
      const res = await upload(stack, { flowId: 'null' }, { data: await png(8, 8, { r: i * 15, g: 10, b: 10 }) });
      expect(res.statusCode).toBe(201);
      ids.push(res.json().data.id);
    }
    const refused = await post({ prompt: 'four refs', model: 'gemini-2.5-flash-image', referenceImages: ids.slice(0, 4) });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toBe('At most 3 reference images are allowed for model gemini-2.5-flash-image');
    const res = await post({ prompt: 'fourteen refs', model: 'gemini-3.1-flash-image-preview', referenceImages: ids });
    expect(res.statusCode).toBe(202);
    expect((await waitForTerminal(stack, res.json().data.id)).status).toBe('success');
    const [sent] = imageRequests();
    expect(sent!.inlineDataCount).toBe(14);
    expect(sent!.body.contents?.[0]?.parts?.slice(1).every((p) => p.inlineData?.mimeType === 'image/png')).toBe(true);
  });
});

describe('PUT /api/v1/generations/:id', () => {
  it('regenerates at a new size, and refuses a model without the stored grounding', async () => {
    const res = await post({ prompt: 'resize me', model: 'gemini-3-pro-image-preview', groundWithSearch: true });
    const id = res.json().data.id;
    await waitForTerminal(stack, id);
    stack.fake!.reset();
    const put = (payload: object) => stack.app.inject({ method: 'PUT', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': stack.key.key }, payload });
    const refused = await put({ model: 'gemini-2.5-flash-image' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.message).toBe('groundWithSearch is not supported by model gemini-2.5-flash-image');
    expect(imageRequests()).toHaveLength(0);
    const resized = await put({ imageSize: '2K' });
    expect(resized.statusCode).toBe(200);
    const done = await waitForTerminal(stack, id);
    expect(done).toMatchObject({ status: 'success', imageSize: '2K', model: 'gemini-3-pro-image-preview', groundWithSearch: true });
    expect(imageRequests()[0]!.body.generationConfig?.imageConfig).toEqual({ aspectRatio: '1:1', imageSize: '2K' });
  });
});
