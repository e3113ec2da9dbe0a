import { afterEach, describe, expect, it } from 'vitest';
import { GeminiImageProvider } from '../src/index.js';
import { startFakeGemini } from '../../testing/src/fake-gemini.js';
import type { FakeGemini } from '../../testing/src/fake-gemini.js';

const started: FakeGemini[] = [];

async function start(): Promise<FakeGemini> {
  const fake = await startFakeGemini();
  started.push(fake);
  return fake;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.close()));
});

function generate(fake: FakeGemini, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': 'k' }) {
  return fetch(`${fake.baseUrl}/v1beta/models/gemini-2.5-flash-image:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function control(fake: FakeGemini, path: string, body?: unknown) {
  return fetch(`${fake.baseUrl}/__control/${path}`, {
    method: body === undefined && path === 'requests' ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const userBody = (text: string, images = 0) => ({
  contents: [
    {
      role: 'user',
      parts: [{ text }, ...Array.from({ length: images }, () => ({ inlineData: { mimeType: 'image/png', data: 'AA==' } }))],
    },
  ],
  generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '3:4' } },
});

describe('fake Gemini server', () => {
  it('answers 401 with a Google JSON error when the API key is missing', async () => {
    const fake = await start();
    const res = await generate(fake, userBody('x'), {});
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });

  it('answers the Google error shape with RetryInfo for 429', async () => {
    const fake = await start();
    fake.script({ kind: 'error', status: 429, retryDelay: '7s' });
    const res = await generate(fake, userBody('x'));
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({
      error: {
        code: 429,
        message: expect.any(String),
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
      },
    });
  });

  it('accepts the /v1/ path and answers 404 for unknown routes', async () => {
    const fake = await start();
    const v1 = await fetch(`${fake.baseUrl}/v1/models/gemini-3-pro-image-preview:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'k' },
      body: JSON.stringify(userBody('x')),
    });
    expect(v1.status).toBe(200);
    const unknown = await fetch(`${fake.baseUrl}/v1beta/models/x:countTokens`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
  });

  it('is scriptable and inspectable over HTTP', async () => {
    const fake = await start();
    expect((await control(fake, 'script', [{ kind: 'error', status: 503 }, { kind: 'text' }])).status).toBe(200);
    expect((await control(fake, 'script', { kind: 'image' })).status).toBe(400);

    expect((await generate(fake, userBody('first', 2))).status).toBe(503);
    const second = (await (await generate(fake, userBody('second'))).json()) as {
      candidates: Array<{ finishReason: string; content: { parts: Array<{ text?: string; inlineData?: unknown }> } }>;
    };
    expect(second.candidates[0].finishReason).toBe('STOP');
    expect(second.candidates[0].content.parts.every((p) => p.text && !p.inlineData)).toBe(true);

    const requests = await (await control(fake, 'requests')).json();
    expect(requests).toEqual([
      expect.objectContaining({ model: 'gemini-2.5-flash-image', text: 'first', inlineDataCount: 2, aspectRatio: '3:4' }),
      expect.objectContaining({ model: 'gemini-2.5-flash-image', text: 'second', inlineDataCount: 0 }),
    ]);

    expect((await control(fake, 'default', { kind: 'error', status: 500 })).status).toBe(200);
    expect((await generate(fake, userBody('third'))).status).toBe(500);
    expect((await control(fake, 'reset', {})).status).toBe(200);
    expect((await generate(fake, userBody('fourth'))).status).toBe(200);
    expect(fake.requests.map((r) => r.text)).toEqual(['fourth']);
  });

  it('scripts text-model requests separately over HTTP', async () => {
    const fake = await start();
    await control(fake, 'script-text', [{ kind: 'text', text: 'scripted rewrite' }]);
    await control(fake, 'text-default', { kind: 'error', status: 503 });
    const provider = new GeminiImageProvider({
      apiKey: 'k',
      baseUrl: fake.baseUrl,
      imageModel: 'gemini-2.5-flash-image',
      textModel: 'gemini-2.5-flash',
      timeoutMs: 10_000,
    });
    expect((await provider.enhancePrompt({ prompt: 'p', template: 'general' })).prompt).toBe('scripted rewrite');
    await expect(provider.enhancePrompt({ prompt: 'p', template: 'general' })).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
    });
  });

  it('closes promptly while a request hangs', async () => {
    const fake = await startFakeGemini();
    fake.script({ kind: 'hang' });
    const pending = generate(fake, userBody('x')).then(
      () => 'answered',
      () => 'disconnected',
    );
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await fake.close();
    expect(await pending).toBe('disconnected');
  });
});

describe('fake Gemini noise images (benchmarks)', () => {
  it('answers a fixed incompressible PNG of the asked size, the same bytes every time', async () => {
    const fake = await start();
    fake.setDefault({ kind: 'image', noise: { width: 256, height: 256 } });
    const finalImage = async (prompt: string) => {
      const body = (await (await generate(fake, userBody(prompt))).json()) as {
        candidates: Array<{ content: { parts: Array<{ inlineData?: { mimeType: string; data: string }; thought?: boolean }> } }>;
      };
      const part = body.candidates[0]!.content.parts.find((p) => p.inlineData && !p.thought)!;
      return { mimeType: part.inlineData!.mimeType, bytes: Buffer.from(part.inlineData!.data, 'base64') };
    };
    const a = await finalImage('one prompt');
    const b = await finalImage('another prompt');
    expect(a.mimeType).toBe('image/png');
    const { default: sharp } = await import('sharp');
    const meta = await sharp(a.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([256, 256]);
    expect(a.bytes.length).toBeGreaterThan(190 * 1024);
    expect(b.bytes.equals(a.bytes)).toBe(true);
  });
});
