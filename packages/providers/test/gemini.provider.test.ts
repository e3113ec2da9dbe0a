import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, GoogleGenAI } from '@google/genai';
import sharp from 'sharp';
import { ProviderError, TEMPLATE_INSTRUCTIONS } from '@banatie/core';
import type { GenerateImageRequest, ProviderCall } from '@banatie/core';
import { GeminiImageProvider } from '../src/index.js';
import { fakeImageColour, startFakeGemini } from '../../testing/src/fake-gemini.js';
import { freePort } from '@banatie/testing';
import type { FakeGemini } from '../../testing/src/fake-gemini.js';

const IMAGE_MODEL = 'gemini-2.5-flash-image';
const TEXT_MODEL = 'gemini-2.5-flash';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let fake: FakeGemini;

function provider(overrides: { baseUrl?: string; timeoutMs?: number; onCall?: (call: ProviderCall) => void } = {}): GeminiImageProvider {
  return new GeminiImageProvider({
    apiKey: 'test-key',
    baseUrl: overrides.baseUrl ?? fake.baseUrl,
    imageModel: IMAGE_MODEL,
    textModel: TEXT_MODEL,
    timeoutMs: overrides.timeoutMs ?? 10_000,
    onCall: overrides.onCall,
  });
}

function request(overrides: Partial<GenerateImageRequest> = {}): GenerateImageRequest {
  return { prompt: 'a red fox in the snow', aspectRatio: '1:1', referenceImages: [], ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('GeminiImageProvider.generateImage', () => {
  it('returns the final PNG, skipping thought images', async () => {
    const prompt = 'a red fox in the snow';
    const image = await provider().generateImage(request({ prompt, aspectRatio: '16:9' }));

    expect(image.mimeType).toBe('image/png');
    expect(image.data.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    const { data, info } = await sharp(image.data).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([128, 72]); // the thought draft is a grey 16x16
    expect({ r: data[0], g: data[1], b: data[2] }).toEqual(fakeImageColour(prompt));
  });

  it('returns a large image byte for byte as the answer holds it (its base64 decoded while reading)', async () => {
    fake.setDefault({ kind: 'image', noise: { width: 160, height: 160 } });
    const raw = (await (
      await fetch(`${fake.baseUrl}/v1beta/models/${IMAGE_MODEL}:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'test-key' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'noise' }] }] }),
      })
    ).json()) as { candidates: Array<{ content: { parts: Array<{ thought?: boolean; inlineData?: { data: string } }> } }> };
    const finalPart = raw.candidates[0]!.content.parts.filter((p) => p.inlineData && !p.thought).at(-1)!;
    expect(finalPart.inlineData!.data.length).toBeGreaterThan(64 * 1024);

    const image = await provider().generateImage(request());

    expect(image.data.equals(Buffer.from(finalPart.inlineData!.data, 'base64'))).toBe(true);
    expect((await sharp(image.data).metadata()).width).toBe(160);
  });

  it('sends the prompt, response modality and aspect ratio in the real wire format', async () => {
    await provider().generateImage(request({ prompt: 'a lighthouse', aspectRatio: '21:9' }));

    expect(fake.requests).toHaveLength(1);
    const [recorded] = fake.requests;
    expect(recorded.model).toBe(IMAGE_MODEL);
    // @google/genai 3.x calls /v1/ (2.x called /v1beta/); the fake answers on both.
    expect(recorded.path).toBe(`/v1/models/${IMAGE_MODEL}:generateContent`);
    expect(recorded.headers['x-goog-api-key']).toBe('test-key');
    expect(recorded.text).toBe('a lighthouse');
    expect(recorded.body.generationConfig?.imageConfig?.aspectRatio).toBe('21:9');
    expect(recorded.body.generationConfig?.responseModalities).toEqual(['IMAGE']);
  });

  it('sends reference images as inlineData parts', async () => {
    const red = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0000ff' } }).jpeg().toBuffer();
    const referenceImages = [
      { mimeType: 'image/png', data: red },
      { mimeType: 'image/jpeg', data: blue },
    ];
    await provider().generateImage(request({ referenceImages }));

    const [recorded] = fake.requests;
    expect(recorded.inlineDataCount).toBe(2);
    const parts = recorded.body.contents?.[0]?.parts ?? [];
    expect(parts[0]).toEqual({ text: 'a red fox in the snow' });
    expect(parts.slice(1).map((p) => p.inlineData)).toEqual([
      { mimeType: 'image/png', data: red.toString('base64') },
      { mimeType: 'image/jpeg', data: blue.toString('base64') },
    ]);
  });

  it('returns the format the model answered with', async () => {
    fake.script({ kind: 'image', mimeType: 'image/jpeg' });
    const image = await provider().generateImage(request());
    expect(image.mimeType).toBe('image/jpeg');
    expect((await sharp(image.data).metadata()).format).toBe('jpeg');
  });

  it.each([500, 502, 503, 504, 408])('maps HTTP %i to retryable PROVIDER_UNAVAILABLE', async (status) => {
    fake.script({ kind: 'error', status });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('PROVIDER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain('{');
  });

  it('maps 429 to RATE_LIMITED with the RetryInfo delay', async () => {
    fake.script({ kind: 'error', status: 429, retryDelay: '13s' });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryable).toBe(true);
    expect(err.options.rateLimited).toBe(true);
    expect(err.options.retryAfterMs).toBe(13_000);
    expect(err.message).toMatch(/rate limit/i);
    expect(err.message).not.toContain('{');
  });

  it("the real SDK's ApiError carries Gemini's RetryInfo body, and the delay is read from it", async () => {
    fake.script({ kind: 'error', status: 429, retryDelay: '17s' });
    const ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: fake.baseUrl } });
    const thrown = await ai.models.generateContent({ model: IMAGE_MODEL, contents: 'x' }).then(
      () => new Error('expected a 429'),
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).status).toBe(429);
    expect(JSON.parse((thrown as ApiError).message).error.details).toEqual([
      { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' },
    ]);
    fake.script({ kind: 'error', status: 429, retryDelay: '17s' });
    const err = await failure(provider().generateImage(request()));
    expect(err.options).toMatchObject({ rateLimited: true, retryAfterMs: 17_000 });
  });

  it.each([400, 403, 404])('maps HTTP %i to non-retryable PROVIDER_REJECTED', async (status) => {
    fake.script({ kind: 'error', status, message: 'Bad things happened.' });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('PROVIDER_REJECTED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('Bad things happened.');
    expect(err.message).not.toContain('{');
  });

  it('maps a prompt-level block to CONTENT_BLOCKED', async () => {
    fake.script({ kind: 'safety', level: 'prompt', reason: 'PROHIBITED_CONTENT' });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('CONTENT_BLOCKED');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("The prompt was blocked by the model's safety filters (PROHIBITED_CONTENT)");
  });

  it.each(['IMAGE_SAFETY', 'SAFETY', 'IMAGE_PROHIBITED_CONTENT', 'IMAGE_RECITATION', 'IMAGE_OTHER', 'OTHER'])(
    'maps a candidate finishReason %s without image to CONTENT_BLOCKED',
    async (reason) => {
      fake.script({ kind: 'safety', level: 'candidate', reason });
      const err = await failure(provider().generateImage(request()));
      expect(err.code).toBe('CONTENT_BLOCKED');
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(reason);
    },
  );

  it('maps finishReason NO_IMAGE to NO_IMAGE', async () => {
    fake.script({ kind: 'safety', level: 'candidate', reason: 'NO_IMAGE' });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('NO_IMAGE');
    expect(err.retryable).toBe(false);
  });

  it('maps a text-only answer to NO_IMAGE', async () => {
    fake.script({ kind: 'text', text: 'I would rather describe it.' });
    const err = await failure(provider().generateImage(request()));
    expect(err.code).toBe('NO_IMAGE');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('I would rather describe it.');
  });

  it('times out a hung call with TIMEOUT', async () => {
    fake.script({ kind: 'hang' });
    const err = await failure(provider({ timeoutMs: 300 }).generateImage(request()));
    expect(err.code).toBe('TIMEOUT');
    expect(err.retryable).toBe(true);
  });

  it('stops when the caller aborts', async () => {
    fake.script({ kind: 'hang' });
    const controller = new AbortController();
    const pending = provider({ timeoutMs: 60_000 }).generateImage(request({ signal: controller.signal }));
    controller.abort();
    const err = await failure(pending);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toMatch(/aborted/);
  });

  it('maps a refused connection to retryable PROVIDER_UNAVAILABLE', async () => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const err = await failure(provider({ baseUrl }).generateImage(request()));
    expect(err.code).toBe('PROVIDER_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('consumes scripted behaviours in order, then the default', async () => {
    fake.script({ kind: 'error', status: 503 }, { kind: 'delay', ms: 10 });
    const p = provider();
    expect((await failure(p.generateImage(request()))).code).toBe('PROVIDER_UNAVAILABLE');
    await expect(p.generateImage(request())).resolves.toMatchObject({ mimeType: 'image/png' });
    fake.setDefault({ kind: 'error', status: 400 });
    expect((await failure(p.generateImage(request()))).code).toBe('PROVIDER_REJECTED');
    expect((await failure(p.generateImage(request()))).code).toBe('PROVIDER_REJECTED');
  });
});

describe('GeminiImageProvider.enhancePrompt', () => {
  it('returns the text model answer with the template as system instruction', async () => {
    const enhanced = await provider().enhancePrompt({ prompt: 'a cat @hero', template: 'sticker' });

    expect(enhanced.prompt).toBe('a cat @hero, highly detailed, balanced composition, soft natural lighting');
    const [recorded] = fake.requests;
    expect(recorded.model).toBe(TEXT_MODEL);
    expect(recorded.text).toBe('a cat @hero');
    expect(recorded.body.systemInstruction?.parts?.[0]?.text).toBe(TEMPLATE_INSTRUCTIONS.sticker);
  });

  it('trims the answer and falls back to the original prompt when it is empty', async () => {
    fake.scriptText({ kind: 'text', text: '  a better cat  \n' }, { kind: 'text', text: '   ' });
    expect((await provider().enhancePrompt({ prompt: 'a cat', template: 'general' })).prompt).toBe('a better cat');
    expect((await provider().enhancePrompt({ prompt: 'a cat', template: 'general' })).prompt).toBe('a cat');
  });

  it('classifies failures like image calls', async () => {
    fake.scriptText(
      { kind: 'error', status: 503 },
      { kind: 'error', status: 429, retryDelay: '2.5s' },
      { kind: 'safety', level: 'prompt', reason: 'BLOCKLIST' },
    );
    const p = provider();
    expect((await failure(p.enhancePrompt({ prompt: 'x', template: 'general' }))).code).toBe('PROVIDER_UNAVAILABLE');
    const limited = await failure(p.enhancePrompt({ prompt: 'x', template: 'general' }));
    expect([limited.code, limited.options.retryAfterMs]).toEqual(['RATE_LIMITED', 2500]);
    expect((await failure(p.enhancePrompt({ prompt: 'x', template: 'general' }))).code).toBe('CONTENT_BLOCKED');
  });

  it('does not consume the image script', async () => {
    fake.script({ kind: 'error', status: 400 });
    await provider().enhancePrompt({ prompt: 'a cat', template: 'general' });
    expect((await failure(provider().generateImage(request()))).code).toBe('PROVIDER_REJECTED');
  });
});

describe('GeminiImageProvider onCall (metrics observer)', () => {
  it('reports every call once with its operation, model, status and error code', async () => {
    const calls: ProviderCall[] = [];
    const p = provider({ timeoutMs: 300, onCall: (c) => calls.push(c) });
    await p.generateImage(request());
    await p.enhancePrompt({ prompt: 'a fox', template: 'general' });
    fake.script({ kind: 'error', status: 429, retryDelay: '2s' }, { kind: 'text' }, { kind: 'hang' });
    await failure(p.generateImage(request()));
    await failure(p.generateImage(request()));
    await failure(p.generateImage(request()));
    await failure(provider({ baseUrl: `http://127.0.0.1:${await freePort()}`, onCall: (c) => calls.push(c) }).generateImage(request()));
    fake.script({ kind: 'hang' });
    const caller = new AbortController();
    const aborted = failure(p.generateImage(request({ signal: caller.signal })));
    while (fake.requests.length < 6) await new Promise((resolve) => setTimeout(resolve, 10));
    caller.abort();
    await aborted;
    expect(calls.map(({ operation, model, status, code }) => ({ operation, model, status, code }))).toEqual([
      { operation: 'generate_image', model: IMAGE_MODEL, status: '200', code: null },
      { operation: 'enhance_prompt', model: TEXT_MODEL, status: '200', code: null },
      { operation: 'generate_image', model: IMAGE_MODEL, status: '429', code: 'RATE_LIMITED' },
      { operation: 'generate_image', model: IMAGE_MODEL, status: '200', code: 'NO_IMAGE' },
      { operation: 'generate_image', model: IMAGE_MODEL, status: 'timeout', code: 'TIMEOUT' },
      { operation: 'generate_image', model: IMAGE_MODEL, status: 'network', code: 'PROVIDER_UNAVAILABLE' },
      { operation: 'generate_image', model: IMAGE_MODEL, status: 'aborted', code: 'TIMEOUT' },
    ]);
    for (const c of calls) expect(c.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('GeminiImageProvider usage (the real SDK reading the fake usageMetadata)', () => {
  it('reports each call’s token counts exactly as the answer gave them', async () => {
    const p = provider();
    const image = await p.generateImage(request({ prompt: 'a lighthouse at dusk', imageSize: '2K' }));
    const enhanced = await p.enhancePrompt({ prompt: 'a fox', template: 'general' });
    const [imageCall, textCall] = fake.requests;
    expect(imageCall!.usage).not.toBeNull();
    expect(image.usage).toEqual({
      operation: 'generate_image',
      model: IMAGE_MODEL,
      inputTokens: imageCall!.usage!.promptTokenCount,
      outputTokens: imageCall!.usage!.candidatesTokenCount,
      thoughtTokens: 0,
      outputImages: 1,
      imageSize: '2K',
      tier: 'standard',
    });
    expect(enhanced.usage).toEqual({
      operation: 'enhance_prompt',
      model: TEXT_MODEL,
      inputTokens: textCall!.usage!.promptTokenCount,
      outputTokens: textCall!.usage!.candidatesTokenCount,
      thoughtTokens: 0,
      outputImages: 0,
      imageSize: null,
      tier: 'standard',
    });
  });

  it('reads thoughtsTokenCount of thinking models and defaults the size to 1K', async () => {
    const p = new GeminiImageProvider({ apiKey: 'k', baseUrl: fake.baseUrl, imageModel: 'gemini-3-pro-image-preview', textModel: TEXT_MODEL, timeoutMs: 10_000 });
    const image = await p.generateImage(request());
    const reported = fake.requests[0]!.usage!;
    expect(reported.thoughtsTokenCount).toBeGreaterThan(0);
    expect(image.usage).toMatchObject({ model: 'gemini-3-pro-image-preview', thoughtTokens: reported.thoughtsTokenCount, imageSize: '1K' });
  });

  it('keeps the usage of a billed refusal on the error, and none on an HTTP error', async () => {
    fake.script({ kind: 'safety', level: 'candidate' }, { kind: 'error', status: 500 });
    const blocked = await failure(provider().generateImage(request()));
    expect(blocked.code).toBe('CONTENT_BLOCKED');
    expect(blocked.options.usage).toMatchObject({ operation: 'generate_image', inputTokens: fake.requests[0]!.usage!.promptTokenCount, outputTokens: 0, outputImages: 0 });
    const unavailable = await failure(provider().generateImage(request()));
    expect(unavailable.options.usage).toBeUndefined();
    expect(fake.requests[1]!.usage).toBeNull();
  });
});
