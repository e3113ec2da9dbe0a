import { fakeImageColour } from '@banatie/testing';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';
import { storedKeys } from './image-helpers.js';

/** SPEC §11: generated outputs are stored only as PNG, JPEG or WebP; anything else the model answers becomes PNG. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'gemini' });
});
afterAll(async () => stack?.close());
afterEach(() => stack.fake!.reset());

const generate = async (prompt: string) => {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt, autoEnhance: false } });
  expect(res.statusCode).toBe(202);
  return waitForTerminal(stack, res.json().data.id);
};

describe('generated output formats', () => {
  it.each(['image/gif', 'image/bmp', 'image/tiff'])('a model answering %s: stored and served as PNG with the same pixels', async (mimeType) => {
    stack.fake!.script({ kind: 'image', mimeType });
    const prompt = `a ${mimeType} answer`;
    const done = await generate(prompt);
    expect(done.status).toBe('success');
    expect(done.outputImage.mimeType).toBe('image/png');
    const served = await stack.app.inject({ method: 'GET', url: new URL(done.outputImage.url).pathname });
    expect(served.headers['content-type']).toBe('image/png');
    const meta = await sharp(served.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height, served.rawPayload.length]).toEqual(['png', done.outputImage.width, done.outputImage.height, done.outputImage.fileSize]);
    const { channels } = await sharp(served.rawPayload).stats();
    const colour = fakeImageColour(prompt);
    // GIF is palette-quantised: close, not exact.
    expect(Math.abs(channels[0]!.mean - colour.r)).toBeLessThan(8);
    expect(Math.abs(channels[2]!.mean - colour.b)).toBeLessThan(8);
  });

  it.each([
    ['image/jpeg', 'jpeg'],
    ['image/webp', 'webp'],
    ['image/png', 'png'],
  ])('a model answering %s: stored as it came', async (mimeType, format) => {
    stack.fake!.script({ kind: 'image', mimeType });
    const done = await generate(`a ${format} answer`);
    expect(done.outputImage.mimeType).toBe(mimeType);
    const served = await stack.app.inject({ method: 'GET', url: new URL(done.outputImage.url).pathname });
    expect((await sharp(served.rawPayload).metadata()).format).toBe(format);
  });

  it('every stored object is PNG, JPEG or WebP by its bytes', async () => {
    const keys = await storedKeys(stack);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of keys) {
      const meta = await sharp(await stack.deps.storage.get(key)).metadata().catch(() => ({ format: 'unreadable' }));
      expect([key, meta.format]).toEqual([key, expect.stringMatching(/^(png|jpeg|webp)$/)]);
    }
  });
});
