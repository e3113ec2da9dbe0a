import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 's3', provider: 'gemini' });
});
afterAll(async () => stack?.close());
afterEach(() => stack.fake!.reset());

const submit = async (body: object) => {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: body });
  expect(res.statusCode).toBe(202);
  return waitForTerminal(stack, res.json().data.id);
};
const imageRequests = () => stack.fake!.requests.filter((r) => r.model.includes('image'));

describe('the Gemini provider through the real SDK, with S3 storage', () => {
  it('enhances the prompt, generates, stores in S3 and serves a real PNG', async () => {
    const done = await submit({ prompt: 'a lighthouse', aspectRatio: '16:9', enhancementOptions: { template: 'photorealistic' } });
    expect(done.status).toBe('success');
    expect(done.attempts).toBe(1);
    const text = stack.fake!.requests.find((r) => !r.model.includes('image'))!;
    expect(text.model).toBe('gemini-2.5-flash');
    expect(JSON.stringify(text.body.systemInstruction)).toMatch(/photorealistic/i);
    const [image] = imageRequests();
    expect(image!.model).toBe('gemini-2.5-flash-image');
    expect(image!.aspectRatio).toBe('16:9');
    expect(image!.text).toBe(done.prompt);
    expect(done.prompt).not.toBe(done.originalPrompt);
    const bytes = await stack.app.inject({ method: 'GET', url: new URL(done.outputImage.url).pathname });
    expect(bytes.statusCode).toBe(200);
    expect((await sharp(bytes.rawPayload).metadata()).format).toBe('png');
  });

  it('503, 503, 200 → success with attempts = 3', async () => {
    stack.fake!.script({ kind: 'error', status: 503 }, { kind: 'error', status: 503 }, { kind: 'image' });
    const done = await submit({ prompt: 'retry me', autoEnhance: false });
    expect(done).toMatchObject({ status: 'success', attempts: 3, error: null });
    expect(imageRequests()).toHaveLength(3);
  });

  it.each([
    [{ kind: 'error', status: 400 } as const, 'PROVIDER_REJECTED'],
    [{ kind: 'error', status: 403 } as const, 'PROVIDER_REJECTED'],
    [{ kind: 'safety', level: 'prompt' } as const, 'CONTENT_BLOCKED'],
    [{ kind: 'safety', level: 'candidate', reason: 'IMAGE_SAFETY' } as const, 'CONTENT_BLOCKED'],
    [{ kind: 'text' } as const, 'NO_IMAGE'],
  ])('%o fails at once with %s', async (behaviour, code) => {
    stack.fake!.script(behaviour);
    const done = await submit({ prompt: `fail ${code}`, autoEnhance: false });
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(1);
    expect(done.error.code).toBe(code);
    expect(done.error.message).not.toMatch(/^\{/);
    expect(done.outputImage).toBeNull();
    expect(imageRequests()).toHaveLength(1);
  });

  it('sends reference images as inlineData parts', async () => {
    const ref = await submit({ prompt: 'a logo', alias: '@brand', autoEnhance: false });
    stack.fake!.reset();
    const done = await submit({ prompt: 'a mug', autoEnhance: false, referenceImages: ['@brand', ref.outputImageId] });
    expect(done.status).toBe('success');
    expect(done.referenceImages).toEqual([{ imageId: ref.outputImageId, alias: '@brand' }]);
    expect(imageRequests()[0]!.inlineDataCount).toBe(1);
  });
});

describe('timeouts and rate limits', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ provider: 'gemini', env: { GEMINI_TIMEOUT_MS: '300', GENERATION_ATTEMPTS: '2' } });
  });
  afterAll(async () => s?.close());

  const run = async (body: object) => {
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': s.key.key }, payload: body });
    return waitForTerminal(s, res.json().data.id);
  };

  it('a hung Gemini ends in TIMEOUT after the retries', async () => {
    s.fake!.setDefault({ kind: 'hang' });
    const done = await run({ prompt: 'hang', autoEnhance: false });
    s.fake!.reset();
    expect(done.status).toBe('failed');
    expect(done.error.code).toBe('TIMEOUT');
    expect(done.attempts).toBe(2);
  });

  it('a 429 slows the queue without spending an attempt', async () => {
    s.fake!.script({ kind: 'error', status: 429, retryDelay: '0.2s' }, { kind: 'error', status: 429, retryDelay: '0.2s' }, { kind: 'image' });
    const done = await run({ prompt: 'busy', autoEnhance: false });
    expect(done.status).toBe('success');
    expect(s.fake!.requests.filter((r) => r.model.includes('image'))).toHaveLength(3);
  });
});
