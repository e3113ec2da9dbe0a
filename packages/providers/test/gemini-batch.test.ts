import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoogleGenAI } from '@google/genai';
import { GeminiImageProvider } from '../src/index.js';
import { splitLines } from '../src/gemini-batch.js';
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
const provider = (batchInlineBytes?: number) =>
  new GeminiImageProvider({ apiKey: 'test-key', baseUrl: fake.baseUrl, imageModel: 'gemini-2.5-flash-image', textModel: 'gemini-2.5-flash', timeoutMs: 10_000, batchInlineBytes });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

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

  it('files: a resumable upload answers a File; a batch from that file ends with a results file the SDK downloads', async () => {
    const ai = sdk();
    const lines = [
      { key: 'f1', request: { contents: [{ role: 'user', parts: [{ text: 'a fox' }] }], generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '1:1' } } } },
      { key: 'f2', request: { contents: [{ role: 'user', parts: [{ text: 'a hen' }] }] } },
    ];
    const jsonl = lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    // Bigger than the SDK's 8 MB chunk, so the upload takes several `upload` commands before `upload, finalize`.
    const padding = `${JSON.stringify({ key: 'pad', request: { contents: [{ role: 'user', parts: [{ text: 'p'.repeat(9 * 1024 * 1024) }] }] } })}\n`;
    const uploaded = await ai.files.upload({ file: new Blob([jsonl, padding]), config: { mimeType: 'jsonl', displayName: 'banatie-input' } });
    expect(uploaded.name).toMatch(/^files\//);
    expect(uploaded).toMatchObject({ displayName: 'banatie-input', mimeType: 'jsonl', sizeBytes: String(Buffer.byteLength(jsonl + padding)), state: 'ACTIVE' });
    expect(uploaded.uri).toContain(uploaded.name);
    expect(fake.files.get(uploaded.name!)!.data.toString()).toBe(jsonl + padding);
    expect(await ai.files.get({ name: uploaded.name! })).toMatchObject({ name: uploaded.name, displayName: 'banatie-input' });

    const job = await ai.batches.create({ model: 'gemini-2.5-flash-image', src: uploaded.name!, config: { displayName: 'banatie-file' } });
    expect(fake.batches[0]).toMatchObject({ inputFile: uploaded.name, displayName: 'banatie-file' });
    expect(fake.batches[0]!.requests.map((r) => r.key)).toEqual(['f1', 'f2', 'pad']);
    fake.script({ kind: 'image' }, { kind: 'error', status: 400, message: 'bad request' }, { kind: 'text' });
    await fake.finishBatches();
    const done = await ai.batches.get({ name: job.name! });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    expect(done.dest?.inlinedResponses).toBeUndefined();
    expect(done.dest?.fileName).toMatch(/^files\//);

    const dir = await mkdtemp(join(tmpdir(), 'fake-gemini-'));
    try {
      const downloadPath = join(dir, 'results.jsonl');
      await ai.files.download({ file: done.dest!.fileName!, downloadPath });
      const results = (await readFile(downloadPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
      expect(results.map((r) => r.key)).toEqual(['f1', 'f2', 'pad']);
      expect(results[0]!.response.candidates[0].content.parts.some((p: { inlineData?: unknown }) => p.inlineData)).toBe(true);
      expect(results[0]!.response.usageMetadata.promptTokenCount).toBeGreaterThan(0);
      expect(results[1]!.error).toMatchObject({ code: 400, message: 'bad request', status: 'INVALID_ARGUMENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

    const pending = await batch.getBatch(name);
    expect(pending.state).toBe('pending');
    expect(await collect(pending.results)).toEqual([]);
    fake.script({ kind: 'image' }, { kind: 'safety', level: 'prompt' });
    await fake.finishBatches();
    const done = await batch.getBatch(name);
    expect(done.state).toBe('succeeded');
    const results = await collect(done.results);
    expect(results.map((r) => r.key)).toEqual(['g1', 'g2']);
    const { data } = await sharp(results[0]!.image!.data).raw().toBuffer({ resolveWithObject: true });
    expect({ r: data[0], g: data[1], b: data[2] }).toEqual(fakeImageColour('a red kite'));
    expect(results[1]!.error!.code).toBe('CONTENT_BLOCKED');
  });
});

describe('GeminiBatchClient beyond the inline limit', () => {
  it('uploads the requests as a JSONL file, creates the batch from it and streams each result from the results file', async () => {
    // A limit below one request: every batch goes as a file.
    const batch = provider(1).batch;
    const ref = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#0000ff' } }).png().toBuffer();
    const items = [
      { key: 'g1', prompt: 'a blue kite', aspectRatio: '16:9', referenceImages: [{ mimeType: 'image/png', data: ref }], imageSize: '2K' as const, groundWithSearch: true },
      { key: 'g2', prompt: 'an error', aspectRatio: '1:1', referenceImages: [] },
      { key: 'g3', prompt: 'a refusal', aspectRatio: '1:1', referenceImages: [] },
      { key: 'g4', prompt: 'overloaded', aspectRatio: '1:1', referenceImages: [] },
    ];
    const name = await batch.submitBatch('gemini-3.1-flash-image-preview', 'gb-file', items);
    expect(await batch.findBatch('gb-file')).toBe(name);
    const job = fake.batches[0]!;
    expect(job.inputFile).toMatch(/^files\//);
    expect(fake.files.get(job.inputFile!)).toMatchObject({ displayName: 'gb-file', mimeType: 'jsonl' });
    // The REST wire format, one `{key, request}` per line, as Google documents batch input files.
    expect(job.requests[0]).toEqual({
      key: 'g1',
      request: {
        contents: [{ role: 'user', parts: [{ text: 'a blue kite' }, { inlineData: { mimeType: 'image/png', data: ref.toString('base64') } }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9', imageSize: '2K' } },
        tools: [{ googleSearch: {} }],
      },
    });
    expect(job.requests.map((r) => r.key)).toEqual(['g1', 'g2', 'g3', 'g4']);

    fake.script({ kind: 'image' }, { kind: 'error', status: 400, message: 'bad prompt' }, { kind: 'safety', level: 'candidate' }, { kind: 'error', status: 503 });
    await fake.finishBatches();
    const { state, results } = await batch.getBatch(name);
    expect(state).toBe('succeeded');
    const all = await collect(results);
    expect(all.map((r) => r.key)).toEqual(['g1', 'g2', 'g3', 'g4']);
    const { data, info } = await sharp(all[0]!.image!.data).raw().toBuffer({ resolveWithObject: true });
    expect({ r: data[0], g: data[1], b: data[2] }).toEqual(fakeImageColour('a blue kite'));
    expect(info.width).toBeGreaterThan(info.height);
    // Usage from the line's usageMetadata, at the batch tier.
    expect(all[0]!.image!.usage).toMatchObject({ model: 'gemini-3.1-flash-image-preview', tier: 'batch', outputImages: 1, outputTokens: 1680 });
    expect(all[0]!.image!.usage!.inputTokens).toBeGreaterThan(258);
    expect(all[1]!.error).toMatchObject({ code: 'PROVIDER_REJECTED', retryable: false });
    expect(all[1]!.error!.message).toContain('bad prompt');
    expect(all[2]!.error!.code).toBe('CONTENT_BLOCKED');
    expect(all[3]!.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: false });
  });

  it('a results line of megabytes spans many chunks of the download: its image arrives whole', async () => {
    const batch = provider(1).batch;
    const name = await batch.submitBatch('gemini-2.5-flash-image', 'gb-big', [
      { key: 'big', prompt: 'noise', aspectRatio: '1:1', referenceImages: [] },
      { key: 'small', prompt: 'after it', aspectRatio: '1:1', referenceImages: [] },
    ]);
    // A grey noise PNG of about 1 MB: ~1.4 MB of base64 on one line.
    fake.script({ kind: 'image', noise: { width: 1024, height: 1024, channels: 1 } });
    await fake.finishBatches();
    expect(fake.files.get(fake.batches[0]!.responsesFile!)!.data.length).toBeGreaterThan(1024 * 1024);
    const all = await collect((await batch.getBatch(name)).results);
    expect(all.map((r) => r.key)).toEqual(['big', 'small']);
    const meta = await sharp(all[0]!.image!.data).metadata();
    expect({ width: meta.width, height: meta.height }).toEqual({ width: 1024, height: 1024 });
    expect(all[1]!.image).toBeDefined();
  });

  it('splitLines joins lines across any chunk boundaries and drops empty ones', async () => {
    const text = '{"key":"a"}\n\n{"key":"bb","x":"' + 'y'.repeat(5000) + '"}\n{"key":"c"}';
    const bytes = Buffer.from(text);
    for (const size of [1, 3, 7, 64, 4096, bytes.length]) {
      async function* chunks() {
        for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
      }
      const lines = (await collect(splitLines(chunks()))).map((l) => l.toString());
      expect(lines).toEqual(text.split('\n').filter(Boolean));
    }
  });

  it('stays inlined under the limit', async () => {
    const batch = provider().batch;
    await batch.submitBatch('gemini-2.5-flash-image', 'gb-small', [{ key: 'g1', prompt: 'small', aspectRatio: '1:1', referenceImages: [] }]);
    expect(fake.batches[0]).toMatchObject({ inputFile: null });
    expect(fake.files.size).toBe(0);
  });

  it('a results file that cannot be downloaded fails the read with a provider error', async () => {
    const batch = provider(1).batch;
    const name = await batch.submitBatch('gemini-2.5-flash-image', 'gb-gone', [{ key: 'g1', prompt: 'x', aspectRatio: '1:1', referenceImages: [] }]);
    await fake.finishBatches();
    fake.files.delete(fake.batches[0]!.responsesFile!);
    const { results } = await batch.getBatch(name);
    await expect(collect(results)).rejects.toMatchObject({ code: 'PROVIDER_REJECTED' });
  });
});
