// SPEC §15: the SDK retries (429/502/503/504, network errors; Retry-After;
// backoff) without ever duplicating a generation, times out, aborts, and
// iterates lists across pages — against the real API behind a flaky proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenStack, startStack, type Stack } from '../../../apps/api/test/harness.js';
import { Banatie, BanatieError, type FetchLike } from '../src/index.js';
import { startFlakyProxy, startHangingServer, type FlakyProxy } from './flaky-proxy.js';
import { caught } from './helpers.js';

let stack: Stack;
let apiUrl: string;
let proxy: FlakyProxy;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  apiUrl = await listenStack(stack);
  proxy = await startFlakyProxy(apiUrl);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});

const generationCount = async (prompt: string) =>
  (await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', prompt).execute()).length;
const isSubmit = (method: string, path: string) => method === 'POST' && path === '/api/v1/generations';

describe('retries through a flaky proxy', () => {
  it('a create survives a 503 with Retry-After and two dropped connections, and makes exactly one generation', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url, maxRetries: 3 });
    proxy.plan(isSubmit, ['503', 'drop-after', 'drop-before']);
    const before = proxy.seen.length;
    const result = await client.generations.create({ prompt: 'flaky: one generation please' });

    const attempts = proxy.seen.slice(before).filter((s) => s.line === 'POST /api/v1/generations');
    expect(attempts).toHaveLength(4);
    // One key for every attempt of the call: the server returns the generation the dropped attempt made.
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);
    expect(attempts[0]!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    // Retry-After: 1 was honoured.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(result.replayed).toBe(true);
    expect(await generationCount('flaky: one generation please')).toBe(1);
    const stored = await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', 'flaky: one generation please').executeTakeFirstOrThrow();
    expect(result.generation.id).toBe(stored.id);
  });

  it('each of several concurrent creates makes exactly one generation', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url });
    proxy.plan(isSubmit, ['drop-after', '503', 'drop-after', 'drop-after', '503', 'drop-before']);
    const prompts = Array.from({ length: 6 }, (_, i) => `flaky concurrent ${i}`);
    const results = await Promise.all(prompts.map((prompt) => client.generations.create({ prompt })));
    expect(new Set(results.map((r) => r.generation.id)).size).toBe(6);
    for (const prompt of prompts) expect(await generationCount(prompt), prompt).toBe(1);
  });

  it('gives up after maxRetries with the last error, retryAfter kept', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url, maxRetries: 1 });
    proxy.plan(isSubmit, ['503', '503']);
    const err = await caught(client.generations.create({ prompt: 'flaky: never created' }));
    expect(err).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503, retryAfter: 1 });
    expect(await generationCount('flaky: never created')).toBe(0);
  });

  it('retries reads after a dropped connection', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url });
    proxy.plan((m, p) => m === 'GET' && p === '/api/v1/project', ['drop-before', 'drop-after']);
    const project = await client.project.get();
    expect(project.id).toBeTruthy();
  });

  it('does not retry a POST that carries no Idempotency-Key after a dropped connection', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url });
    const { generation } = await client.generations.create({ prompt: 'flaky: regenerate once' });
    proxy.plan((m, p) => m === 'POST' && p.endsWith('/regenerate'), ['drop-before']);
    const before = proxy.seen.length;
    const err = await caught(client.generations.regenerate(generation.id));
    expect(err.code).toBe('NETWORK_ERROR');
    expect(proxy.seen.slice(before).filter((s) => s.line.endsWith('/regenerate'))).toHaveLength(1);
  });

  it('maxRetries: 0 turns retries off', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url, maxRetries: 0 });
    proxy.plan((m, p) => m === 'GET' && p === '/api/v1/project', ['503']);
    expect((await caught(client.project.get())).status).toBe(503);
  });
});

describe('timeouts and signals', () => {
  let hanging: Awaited<ReturnType<typeof startHangingServer>>;
  beforeAll(async () => {
    hanging = await startHangingServer();
  });
  afterAll(async () => hanging?.close());

  it('timeoutMs of the client ends a hanging call with TIMEOUT, after maxRetries more tries', async () => {
    const client = new Banatie({ apiKey: 'bnt_x', baseUrl: hanging.url, timeoutMs: 150, maxRetries: 1 });
    const before = hanging.requests();
    const err = await caught(client.generations.get('00000000-0000-4000-8000-000000000000'));
    expect(err).toMatchObject({ code: 'TIMEOUT', status: 0 });
    expect(hanging.requests() - before).toBe(2);
  });

  it('timeoutMs of a call overrides the client (default 60 s)', async () => {
    const client = new Banatie({ apiKey: 'bnt_x', baseUrl: hanging.url });
    const err = await caught(client.images.list({}, { timeoutMs: 100, maxRetries: 0 }));
    expect(err.code).toBe('TIMEOUT');
  });

  it('a signal aborts a hanging call with its reason, without retrying', async () => {
    const client = new Banatie({ apiKey: 'bnt_x', baseUrl: hanging.url });
    const controller = new AbortController();
    const before = hanging.requests();
    const pending = client.flows.get('00000000-0000-4000-8000-000000000000', { signal: controller.signal });
    const reason = new Error('user navigated away');
    // Abort once the request has reached the server.
    for (;;) {
      if (hanging.requests() > before) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(hanging.requests() - before).toBe(1);
  });

  it('a create given a signal is still retried with its key, and the server makes one generation', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url, timeoutMs: 30_000 });
    proxy.plan(isSubmit, ['drop-after']);
    const controller = new AbortController();
    const result = await client.generations.create({ prompt: 'flaky: with signal' }, { signal: controller.signal });
    expect(result.replayed).toBe(true);
    expect(await generationCount('flaky: with signal')).toBe(1);
  });
});

describe('pagination', () => {
  it('iterates across 250 generations page by page, and still returns pages', async () => {
    const { key } = await stack.createKey('paging', 'many');
    const requests: string[] = [];
    const counting: FetchLike = (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${input}`);
      return globalThis.fetch(input, init);
    };
    const client = new Banatie({ apiKey: key, baseUrl: apiUrl, fetch: counting });
    const created: string[] = [];
    for (let i = 0; i < 25; i++) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => client.generations.create({ prompt: `page item ${i * 10 + j}` })));
      created.push(...batch.map((r) => r.generation.id));
    }

    requests.length = 0;
    const seen: string[] = [];
    for await (const g of client.generations.list()) seen.push(g.id);
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(new Set(created));
    expect(requests).toHaveLength(3);
    expect(requests[0]).toContain('limit=100&offset=0');
    expect(requests[2]).toContain('offset=200');

    requests.length = 0;
    const pageSizes: number[] = [];
    for await (const page of client.generations.list({ limit: 60 }).pages()) pageSizes.push(page.data.length);
    expect(pageSizes).toEqual([60, 60, 60, 60, 10]);

    const page = await client.generations.list({ limit: 7, offset: 245 });
    expect(page.data).toHaveLength(5);
    expect(page.pagination).toEqual({ total: 250, limit: 7, offset: 245, hasMore: false });

    let count = 0;
    for await (const _ of client.generations.list({ offset: 240 })) count++;
    expect(count).toBe(10);
  });

  it('an error on a later page ends the iteration with that error', async () => {
    const client = new Banatie({ apiKey: stack.key.key, baseUrl: proxy.url, maxRetries: 0 });
    proxy.plan((m, p) => m === 'GET' && p === '/api/v1/generations', ['pass', '503']);
    const err = await caught(
      (async () => {
        for await (const _ of client.generations.list({ limit: 1 })) {
          // reading
        }
      })(),
    );
    expect(err).toBeInstanceOf(BanatieError);
    expect(err.status).toBe(503);
  });
});
