import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { IMAGE_MODELS, IMAGE_MODEL_IDS, outputPixels } from '@banatie/contracts';
import type { GenerateImageRequest } from '@banatie/core';
import { GeminiImageProvider, LocalImageProvider } from '../src/index.js';
import { startFakeGemini } from '../../testing/src/fake-gemini.js';
import type { FakeGemini } from '../../testing/src/fake-gemini.js';

/** SPEC §13: what the SDK puts on the wire for each model option, as the fake Gemini received it. */

let fake: FakeGemini;

function provider(): GeminiImageProvider {
  return new GeminiImageProvider({ apiKey: 'test-key', baseUrl: fake.baseUrl, imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 10_000 });
}

function request(overrides: Partial<GenerateImageRequest> = {}): GenerateImageRequest {
  return { prompt: 'a red fox', aspectRatio: '1:1', referenceImages: [], ...overrides };
}

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('the request sent to Gemini', () => {
  it('calls the requested model, else the configured default', async () => {
    await provider().generateImage(request({ model: 'gemini-3-pro-image-preview' }));
    await provider().generateImage(request());
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/v1/models/gemini-3-pro-image-preview:generateContent',
      '/v1/models/gemini-2.5-flash-image:generateContent',
    ]);
  });

  it('sends imageConfig.imageSize when it is not the default 1K', async () => {
    for (const imageSize of ['512', '2K', '4K'] as const) {
      await provider().generateImage(request({ model: 'gemini-3.1-flash-image-preview', imageSize, aspectRatio: '16:9' }));
    }
    await provider().generateImage(request({ model: 'gemini-3.1-flash-image-preview', imageSize: '1K', aspectRatio: '16:9' }));
    expect(fake.requests.map((r) => r.body.generationConfig?.imageConfig)).toEqual([
      { aspectRatio: '16:9', imageSize: '512' },
      { aspectRatio: '16:9', imageSize: '2K' },
      { aspectRatio: '16:9', imageSize: '4K' },
      { aspectRatio: '16:9' },
    ]);
  });

  it('adds the googleSearch tool for grounding, and no tool otherwise', async () => {
    await provider().generateImage(request({ model: 'gemini-3-pro-image-preview', groundWithSearch: true }));
    await provider().generateImage(request({ model: 'gemini-3-pro-image-preview' }));
    expect(fake.requests[0]!.body.tools).toEqual([{ googleSearch: {} }]);
    expect(fake.requests[1]!.body.tools).toBeUndefined();
  });

  it('sends 14 references as 14 inline parts after the prompt', async () => {
    const refs = await Promise.all(
      Array.from({ length: 14 }, async (_, i) => ({
        mimeType: 'image/png',
        data: await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: i * 10, g: 0, b: 0 } } }).png().toBuffer(),
      })),
    );
    await provider().generateImage(request({ model: 'gemini-3-pro-image-preview', referenceImages: refs }));
    const parts = fake.requests[0]!.body.contents?.[0]?.parts ?? [];
    expect(fake.requests[0]!.inlineDataCount).toBe(14);
    expect(parts[0]).toEqual({ text: 'a red fox' });
    expect(parts.slice(1).map((p) => p.inlineData)).toEqual(refs.map((r) => ({ mimeType: 'image/png', data: r.data.toString('base64') })));
  });
});

describe('the local provider', () => {
  it('draws at the size the real model returns', async () => {
    const local = new LocalImageProvider();
    const cases = [
      ['gemini-2.5-flash-image', '1K', '16:9', 1344, 768],
      ['gemini-3-pro-image-preview', '2K', '1:1', 2048, 2048],
      ['gemini-3.1-flash-image-preview', '512', '9:16', 384, 688],
    ] as const;
    for (const [model, imageSize, aspectRatio, width, height] of cases) {
      const image = await local.generateImage(request({ model, imageSize, aspectRatio }));
      const meta = await sharp(image.data).metadata();
      expect([model, meta.width, meta.height]).toEqual([model, width, height]);
    }
  });

  it('has an output size for every size and ratio of every model', () => {
    for (const id of IMAGE_MODEL_IDS) {
      for (const size of IMAGE_MODELS[id].imageSizes) {
        for (const ratio of IMAGE_MODELS[id].aspectRatios) expect(outputPixels(id, size, ratio), `${id} ${size} ${ratio}`).toBeDefined();
      }
    }
  });
});
