import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ASPECT_RATIOS, ProviderError, TEMPLATE_SUFFIXES } from '@banatie/core';
import type { GenerateImageRequest } from '@banatie/core';
import { GeminiImageProvider, LocalImageProvider, createImageProvider } from '../src/index.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EXPECTED_SIZES: Record<string, [number, number]> = {
  '1:1': [1024, 1024],
  '2:3': [683, 1024],
  '3:2': [1024, 683],
  '3:4': [768, 1024],
  '4:3': [1024, 768],
  '4:5': [819, 1024],
  '5:4': [1024, 819],
  '9:16': [576, 1024],
  '16:9': [1024, 576],
  '21:9': [1024, 439],
};

const local = new LocalImageProvider();

function generate(overrides: Partial<GenerateImageRequest> = {}) {
  return local.generateImage({ prompt: 'a red fox in the snow', aspectRatio: '1:1', referenceImages: [], ...overrides });
}

function solid(colour: string, format: 'png' | 'jpeg' = 'png') {
  return sharp({ create: { width: 40, height: 30, channels: 3, background: colour } })
    [format]()
    .toBuffer();
}

describe('LocalImageProvider.generateImage', () => {
  it.each(ASPECT_RATIOS)('draws a %s PNG with the long side at 1024 px', async (aspectRatio) => {
    const image = await generate({ aspectRatio });
    expect(image.mimeType).toBe('image/png');
    expect(image.data.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    const meta = await sharp(image.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', ...EXPECTED_SIZES[aspectRatio]]);
  });

  it('is deterministic and depends on the prompt', async () => {
    const [a, b, c] = await Promise.all([generate(), generate(), generate({ prompt: 'a blue whale' })]);
    expect(a.data.equals(b.data)).toBe(true);
    expect(a.data.equals(c.data)).toBe(false);
  });

  it('uses the reference images', async () => {
    const red = { mimeType: 'image/png', data: await solid('#ff0000') };
    const blue = { mimeType: 'image/jpeg', data: await solid('#0000ff', 'jpeg') };
    const without = await generate({ aspectRatio: '16:9' });
    const withRed = await generate({ aspectRatio: '16:9', referenceImages: [red] });
    const withBlue = await generate({ aspectRatio: '16:9', referenceImages: [blue] });
    const withThree = await generate({ aspectRatio: '9:16', referenceImages: [red, blue, red] });
    const again = await generate({ aspectRatio: '16:9', referenceImages: [red] });

    expect(withRed.data.equals(without.data)).toBe(false);
    expect(withRed.data.equals(withBlue.data)).toBe(false);
    expect(withRed.data.equals(again.data)).toBe(true);
    expect((await sharp(withThree.data).metadata()).width).toBe(576);
  });

  it.each([
    ['a 4000-character prompt', 'lorem ipsum dolor sit amet '.repeat(150).slice(0, 4000)],
    ['one unbroken 4000-character word', 'x'.repeat(4000)],
    ['emoji and XML specials', '🦊🏳️‍🌈 👩‍👩‍👧‍👦 <svg> & "quotes" \'single\' </text> ]]> &amp; 日本語のテキスト العربية'],
    ['control characters and lone surrogates', 'bell\u0007 nul\u0000 lone\uD800 surrogate\uDC00 tab\tnew\nline \uFFFF'],
    ['only whitespace', ' \n\t '],
  ])('does not crash on %s', async (_label, prompt) => {
    const image = await generate({ prompt, aspectRatio: '21:9' });
    expect((await sharp(image.data).metadata()).height).toBe(439);
  });

  it('rejects an undecodable reference image', async () => {
    const err = await generate({ referenceImages: [{ mimeType: 'image/png', data: Buffer.from('not an image') }] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'PROVIDER_REJECTED', retryable: false });
  });

  it('honours the abort signal while delayed', async () => {
    const controller = new AbortController();
    const pending = new LocalImageProvider({ delayMs: 60_000 }).generateImage({
      prompt: 'p',
      aspectRatio: '1:1',
      referenceImages: [],
      signal: controller.signal,
    });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('LocalImageProvider.enhancePrompt', () => {
  it('appends the template suffix', async () => {
    expect((await local.enhancePrompt({ prompt: 'a cat @hero', template: 'comic' })).prompt).toBe(
      `a cat @hero, ${TEMPLATE_SUFFIXES.comic}`,
    );
  });

  it('reports plausible usage for both calls, under the local model', async () => {
    const enhanced = await local.enhancePrompt({ prompt: 'a cat', template: 'comic' });
    expect(enhanced.usage).toMatchObject({ operation: 'enhance_prompt', model: 'local', inputTokens: 2, thoughtTokens: 0, imageSize: null, tier: 'standard' });
    expect(enhanced.usage!.outputTokens).toBeGreaterThan(enhanced.usage!.inputTokens);
    const image = await local.generateImage({ prompt: 'a cat', aspectRatio: '1:1', referenceImages: [] });
    expect(image.usage).toEqual({ operation: 'generate_image', model: 'local', inputTokens: 2, outputTokens: 1290, thoughtTokens: 0, outputImages: 1, imageSize: '1K', tier: 'standard' });
  });
});

describe('createImageProvider', () => {
  const gemini = { imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 1000 };

  it('builds the requested provider', () => {
    expect(createImageProvider({ provider: 'local', gemini })).toBeInstanceOf(LocalImageProvider);
    const provider = createImageProvider({ provider: 'gemini', gemini: { ...gemini, apiKey: 'k' } });
    expect(provider).toBeInstanceOf(GeminiImageProvider);
    expect(provider.name).toBe('gemini');
  });

  it('requires an API key for gemini', () => {
    expect(() => createImageProvider({ provider: 'gemini', gemini })).toThrow(/GEMINI_API_KEY/);
  });
});
