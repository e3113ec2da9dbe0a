import { generateWebhookSecret, signLiveUrl as serverSignLiveUrl, signWebhook as serverSignWebhook, verifyLiveSignature } from '@banatie/core';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { Banatie, BanatieError, parseServerSentEvents, signLiveUrl, signWebhook, verifyWebhook, type FetchLike } from '../src/index.js';
import { backoffMs, retryDelayMs } from '../src/retry.js';
import { caught } from './helpers.js';

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

describe('SSE parser', () => {
  it('handles events split across chunks, CRLF and CR line ends, comments, multi-line data and ids', async () => {
    const events = await collect(
      parseServerSentEvents(streamOf(': keep-alive\n\nid: 1\nevent: sta', 'tus\ndata: {"a":\n', 'data: 1}\n\r\nid: 2\r', '\nevent: status\rdata:no-space\r\r', 'data: unterminated')),
    );
    expect(events).toEqual([
      { event: 'status', data: '{"a":\n1}', id: '1' },
      { event: 'status', data: 'no-space', id: '2' },
    ]);
  });

  it('names an event without an event field "message"', async () => {
    expect(await collect(parseServerSentEvents(streamOf('data: x\n\n')))).toEqual([{ event: 'message', data: 'x' }]);
  });
});

describe('live URL signing', () => {
  it('matches the server for odd characters, an existing sig and an expiry; the server verifies it', async () => {
    const secret = 'lss_abcDEF123-_';
    const url = 'https://img.example.com/cdn/acme/site/live/hero?prompt=caf%C3%A9+%26+cr%C3%A8me+%2B+50%25&template=comic&aspectRatio=21:9&sig=old';
    const expiresAt = new Date('2030-01-01T00:00:00Z');
    const ours = await signLiveUrl(url, secret, { expiresAt });
    expect(ours).toBe(serverSignLiveUrl(url, secret, { expiresAt }));
    const u = new URL(ours);
    expect(verifyLiveSignature(secret, u.pathname, [...u.searchParams.entries()], new Date('2029-12-31T00:00:00Z'))).toBe('valid');
    expect(verifyLiveSignature(secret, u.pathname, [...u.searchParams.entries()], new Date('2030-01-02T00:00:00Z'))).toBe('expired');
  });

  it('client.live.url and client.live.sign build on the client baseUrl', async () => {
    const client = new Banatie({ baseUrl: 'https://images.example.com/' });
    const params = { org: 'acme', project: 'site', scope: 'hero', prompt: 'a b', autoEnhance: true };
    expect(client.live.url(params)).toBe('https://images.example.com/cdn/acme/site/live/hero?prompt=a+b&autoEnhance=true');
    expect(await client.live.sign({ ...params, secret: 's' })).toBe(serverSignLiveUrl(client.live.url(params), 's'));
  });
});

describe('webhook verification', () => {
  it('accepts what the server signs and what standardwebhooks signs; signWebhook verifies with standardwebhooks', async () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'generation.succeeded', timestamp: new Date().toISOString(), data: { id: 'x' } });
    const now = new Date();
    await expect(verifyWebhook(body, serverSignWebhook(secret, 'msg_1', now, body), secret)).resolves.toMatchObject({ type: 'generation.succeeded' });
    const viaLibrary = new Webhook(secret).sign('msg_2', now, body);
    await expect(verifyWebhook(body, { 'webhook-id': 'msg_2', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': viaLibrary }, secret)).resolves.toBeDefined();
    const ours = await signWebhook(body, secret, { id: 'msg_3', timestamp: now });
    expect(new Webhook(secret).verify(body, ours)).toMatchObject({ type: 'generation.succeeded' });
  });

  it('refuses a malformed timestamp and a body that is not JSON', async () => {
    const secret = generateWebhookSecret();
    const headers = await signWebhook('not json', secret, { id: 'msg_4' });
    expect(await caught(verifyWebhook('not json', headers, secret))).toMatchObject({ code: 'WEBHOOK_INVALID', message: 'Webhook body is not JSON' });
    expect(await caught(verifyWebhook('{}', { ...headers, 'webhook-timestamp': '12abc' }, secret))).toMatchObject({ message: 'Invalid webhook-timestamp header' });
  });
});

describe('errors from responses', () => {
  const answering =
    (res: () => Response): FetchLike =>
    async () =>
      res();

  it('reads the envelope, X-Request-Id and Retry-After', async () => {
    const client = new Banatie({
      apiKey: 'k',
      maxRetries: 0,
      fetch: answering(
        () =>
          new Response(JSON.stringify({ success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'Service temporarily unavailable' } }), {
            status: 503,
            headers: { 'content-type': 'application/json', 'x-request-id': 'req-1', 'retry-after': '5' },
          }),
      ),
    });
    expect(await caught(client.project.get())).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, requestId: 'req-1', retryAfter: 5, message: 'Service temporarily unavailable' });
  });

  it('a body that is not the envelope (a proxy page) is HTTP_ERROR with the status', async () => {
    const client = new Banatie({ maxRetries: 0, fetch: answering(() => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })) });
    expect(await caught(client.images.list())).toMatchObject({ code: 'HTTP_ERROR', status: 502, message: 'HTTP 502 Bad Gateway', details: '<html>Bad gateway</html>' });
  });

  it('sends the key, JSON and the Idempotency-Key / Prefer headers', async () => {
    let seen: { url: string; init?: RequestInit } | undefined;
    const client = new Banatie({
      apiKey: 'bnt_key',
      baseUrl: 'http://api.test/',
      fetch: async (url, init) => {
        seen = { url, init };
        return new Response(JSON.stringify({ success: true, data: { id: 'g', warnings: ['w'] } }), { status: 202, headers: { 'idempotent-replayed': 'true' } });
      },
    });
    const result = await client.generations.create({ prompt: 'p' }, { idempotencyKey: 'k1', wait: 90 });
    expect(result).toEqual({ generation: { id: 'g' }, warnings: ['w'], replayed: true });
    expect(seen!.url).toBe('http://api.test/api/v1/generations');
    expect(seen!.init).toMatchObject({ method: 'POST', body: '{"prompt":"p"}' });
    expect(seen!.init!.headers).toMatchObject({ 'x-api-key': 'bnt_key', 'content-type': 'application/json', 'idempotency-key': 'k1', prefer: 'wait=60' });
  });
});

describe('retry policy', () => {
  const failure = (status: number, code = 'X', retryAfter?: number) => new BanatieError({ status, code, message: 'm', retryAfter });
  const half = () => 0.5;

  it('retries 429, 502, 503, 504, network errors and timeouts; nothing else', () => {
    for (const status of [429, 502, 503, 504]) expect(retryDelayMs(failure(status), 0, 'all', half), String(status)).toBeTypeOf('number');
    expect(retryDelayMs(failure(0, 'NETWORK_ERROR'), 0, 'all', half)).toBeTypeOf('number');
    expect(retryDelayMs(failure(0, 'TIMEOUT'), 0, 'all', half)).toBeTypeOf('number');
    for (const status of [400, 401, 404, 409, 422, 500]) expect(retryDelayMs(failure(status), 0, 'all', half), String(status)).toBeUndefined();
    expect(retryDelayMs(failure(503), 0, 'none', half)).toBeUndefined();
  });

  it('retries a POST without a key only after a 429', () => {
    expect(retryDelayMs(failure(429), 0, 'refused', half)).toBeTypeOf('number');
    expect(retryDelayMs(failure(503), 0, 'refused', half)).toBeUndefined();
    expect(retryDelayMs(failure(0, 'NETWORK_ERROR'), 0, 'refused', half)).toBeUndefined();
  });

  it('waits Retry-After when given (up to a minute), else backs off exponentially with jitter', () => {
    expect(retryDelayMs(failure(503, 'X', 3), 0, 'all', () => 0)).toBe(3000);
    expect(retryDelayMs(failure(429, 'X', 3600), 0, 'all', half)).toBeUndefined();
    expect([0, 1, 2, 3, 10].map((attempt) => backoffMs(attempt, () => 0))).toEqual([250, 500, 1000, 2000, 4000]);
    expect([0, 1, 2, 3, 10].map((attempt) => backoffMs(attempt, () => 0.999999))).toEqual([499, 999, 1999, 3999, 7999]);
  });
});
