import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoogleGenAI } from '@google/genai';
import { GeminiImageProvider } from '../src/index.js';
import { fakeImageColour, startFakeGemini } from '../../testing/src/fake-gemini.js';
import type { FakeGemini } from '../../testing/src/fake-gemini.js';

/** The fake's Batch API speaks the SDK's wire format: the real SDK creates, lists, reads and cancels against it. */

let fake: FakeGemini;
beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(async () => fake.close());
beforeEach(() => fake.reset());

const sdk = () => new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: fake.baseUrl } });
const provider = () => new GeminiImageProvider({ apiKey: 'test-key', baseUrl: fake.baseUrl, imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 10_000 });

describe('the fake Gemini Batch API, parsed by the SDK itself', () => {
  it('create → pending job with its display name; list finds it; get after completion has inlined responses keyed by metadata', async () => {
    const ai = sdk();
    const job = await ai.batches.create({
      model: 'gemini-3-pro-image-preview',
      src: [
        { contents: [{ role: 'user', parts: [{ text: 'a fox' }] }], metadata: { key: 'k1' }, config: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } } },
        { contents: [{ role: 'user', parts: [{ text: 'a hen' }] }], metadata: { key: 'k2' } },
      ],
      config: { displayName: 'banatie-test' },
    });
    expect(job.name).toMatch(/^batches\//);
    expect(job.state).toBe('JOB_STATE_PENDING');
    expect(job.displayName).toBe('banatie-test');
    // What went over the wire: inlined requests with their generation config and key.
    expect(fake.batches[0]!.requests[0]).toEqual({
      request: { contents: [{ role: 'user', parts: [{ text: 'a fox' }] }], generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } } },
      metadata: { key: 'k1' },
    });

    const listed = [];
    for await (const j of await ai.batches.list()) listed.push(j.name);
    expect(listed).toEqual([job.name]);

    fake.script({ kind: 'image' }, { kind: 'error', status: 400, message: 'bad request' });
    await fake.finishBatches();
    const done = await ai.batches.get({ name: job.name! });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const responses = done.dest!.inlinedResponses!;
    expect(responses.map((r) => r.metadata)).toEqual([{ key: 'k1' }, { key: 'k2' }]);
    expect(responses[0]!.response!.candidates![0]!.content!.parts!.some((p) => p.inlineData)).toBe(true);
    expect(responses[1]!.error).toMatchObject({ code: 400, message: 'bad request', status: 'INVALID_ARGUMENT' });
  });

  it('cancel and expiry end a job without output', async () => {
    const ai = sdk();
    const a = await ai.batches.create({ model: 'gemini-2.5-flash-image', src: [{ contents: [{ role: 'user', parts: [{ text: 'x' }] }] }] });
    await ai.batches.cancel({ name: a.name! });
    expect((await ai.batches.get({ name: a.name! })).state).toBe('JOB_STATE_CANCELLED');
    const b = await ai.batches.create({ model: 'gemini-2.5-flash-image', src: [{ contents: [{ role: 'user', parts: [{ text: 'y' }] }] }] });
    await fake.finishBatches('BATCH_STATE_EXPIRED');
    const expired = await ai.batches.get({ name: b.name! });
    expect(expired.state).toBe('JOB_STATE_EXPIRED');
    expect(expired.dest?.inlinedResponses).toBeUndefined();
  });
});

describe('GeminiBatchClient', () => {
  it('submits image requests with their options and reads each result by key', async () => {
    const batch = provider().batch;
    const ref = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#00ff00' } }).png().toBuffer();
    const name = await batch.submitBatch('gemini-3.1-flash-image-preview', 'gb-1', [
      { key: 'g1', prompt: 'a red kite', aspectRatio: '1:1', referenceImages: [{ mimeType: 'image/png', data: ref }], imageSize: '4K', groundWithSearch: true },
      { key: 'g2', prompt: 'a blocked one', aspectRatio: '1:1', referenceImages: [] },
    ]);
    expect(await batch.findBatch('gb-1')).toBe(name);
    expect(await batch.findBatch('gb-other')).toBeUndefined();
    const sent = fake.batches[0]!.requests[0]!.request;
    expect(sent.generationConfig).toEqual({ responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '1:1', imageSize: '4K' } });
    expect(sent.tools).toEqual([{ googleSearch: {} }]);
    expect(sent.contents?.[0]?.parts?.[1]).toEqual({ inlineData: { mimeType: 'image/png', data: ref.toString('base64') } });

    expect(await batch.getBatch(name)).toEqual({ state: 'pending', results: [] });
    fake.script({ kind: 'image' }, { kind: 'safety', level: 'prompt' });
    await fake.finishBatches();
    const { state, results } = await batch.getBatch(name);
    expect(state).toBe('succeeded');
    expect(results.map((r) => r.key)).toEqual(['g1', 'g2']);
    const { data } = await sharp(results[0]!.image!.data).raw().toBuffer({ resolveWithObject: true });
    expect({ r: data[0], g: data[1], b: data[2] }).toEqual(fakeImageColour('a red kite'));
    expect(results[1]!.error!.code).toBe('CONTENT_BLOCKED');
  });
});
