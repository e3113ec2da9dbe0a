import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { liveCacheKey } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { startWorkerRuntime } from '../../worker/src/runtime.js';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { listenStack, startStack, type Stack } from './harness.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const url = (prompt: string, extra = '', scope = 'hero') => `/cdn/acme/site/live/${scope}?prompt=${encodeURIComponent(prompt)}${extra}`;

function imageCalls(stack: Stack): number {
  return stack.fake!.requests.filter((r) => r.model.includes('image')).length;
}

async function generationCount(stack: Stack): Promise<number> {
  const row = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('live URLs: HIT, MISS, single flight, failures', () => {
  let stack: Stack;

  beforeAll(async () => {
    // No sweeper and no periodic hit flush while counting queries.
    stack = await startStack({ provider: 'gemini', env: { SWEEP_INTERVAL_MS: '3600000', LIVE_HIT_FLUSH_MS: '3600000', LIVE_MISS_PER_IP_PER_HOUR: '0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('MISS generates once, then HITs serve the same bytes with counts; the generation is listed with its scope', async () => {
    const miss = await stack.app.inject({ method: 'GET', url: url('a lighthouse at dawn', '&aspectRatio=16:9') });
    expect(miss.statusCode, miss.body).toBe(200);
    expect(miss.headers['content-type']).toBe('image/png');
    expect(miss.rawPayload.subarray(0, 8).equals(PNG)).toBe(true);
    expect(miss.headers['x-cache-status']).toBe('MISS');
    expect(miss.headers['x-generation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(miss.headers['x-image-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(miss.headers['x-cache-hit-count']).toBeUndefined();
    expect(miss.headers['cache-control']).toBe('public, max-age=31536000');
    expect(miss.headers.etag).toMatch(/^".+"$/);

    const hit1 = await stack.app.inject({ method: 'GET', url: url('a lighthouse at dawn', '&aspectRatio=16:9') });
    const hit2 = await stack.app.inject({ method: 'GET', url: url('a lighthouse at dawn', '&aspectRatio=16:9') });
    for (const [res, n] of [[hit1, '1'], [hit2, '2']] as const) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-cache-status']).toBe('HIT');
      expect(res.headers['x-cache-hit-count']).toBe(n);
      expect(res.headers['x-generation-id']).toBeUndefined();
      expect(res.headers['x-image-id']).toBe(miss.headers['x-image-id']);
      expect(res.headers.etag).toBe(miss.headers.etag);
      expect(res.rawPayload.equals(miss.rawPayload)).toBe(true);
    }
    expect(imageCalls(stack)).toBe(1);

    const notModified = await stack.app.inject({ method: 'GET', url: url('a lighthouse at dawn', '&aspectRatio=16:9'), headers: { 'if-none-match': String(miss.headers.etag) } });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    const head = await stack.app.inject({ method: 'HEAD', url: url('a lighthouse at dawn', '&aspectRatio=16:9') });
    expect(head.statusCode).toBe(200);
    expect(head.headers['x-cache-status']).toBe('HIT');
    expect(head.body).toBe('');

    const generation = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${miss.headers['x-generation-id']}`, headers: { 'x-api-key': stack.key.key } });
    expect(generation.json().data).toMatchObject({ status: 'success', aspectRatio: '16:9', originalPrompt: 'a lighthouse at dawn', outputImageId: miss.headers['x-image-id'], meta: { liveScope: 'hero' } });
    const row = await stack.db.selectFrom('generations').select('live_scope_id').where('id', '=', String(miss.headers['x-generation-id'])).executeTakeFirstOrThrow();
    expect(row.live_scope_id).toEqual(expect.any(String));

    // Hit counts live in memory until flushed (periodically, and on close).
    const before = await stack.db.selectFrom('live_entries').select(['hit_count', 'image_id']).executeTakeFirstOrThrow();
    expect(before).toEqual({ hit_count: 0, image_id: miss.headers['x-image-id'] });
    await stack.deps.live.flushHits();
    const scope = await stack.app.inject({ method: 'GET', url: '/api/v1/live/scopes/hero', headers: { 'x-api-key': stack.key.key } });
    expect(scope.json().data).toMatchObject({ slug: 'hero', currentGenerations: 1, missCount: 1, hitCount: 4, entryCount: 1, newGenerationsLimit: 30, allowNewGenerations: true });
    const after = await stack.db.selectFrom('live_entries').select('hit_count').executeTakeFirstOrThrow();
    expect(after.hit_count).toBe(4);
  });

  it('a warm HIT issues no SQL statement at all', async () => {
    const first = await stack.app.inject({ method: 'GET', url: url('zero sql please') });
    expect(first.headers['x-cache-status']).toBe('MISS');
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const hit = await stack.app.inject({ method: 'GET', url: url('zero sql please') });
      expect(hit.headers['x-cache-status']).toBe('HIT');
      expect(spy).toHaveBeenCalledTimes(0);
      // The counter sees statements when there are some (the check can fail).
      await stack.deps.live.flushHits();
      expect(spy.mock.calls.length).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('over a socket, a HIT in memory is answered before Fastify, with the same headers and counted in /metrics', async () => {
    const base = await listenStack(stack);
    const miss = await fetch(`${base}${url('served before the router')}`);
    expect(miss.headers.get('x-cache-status')).toBe('MISS');
    await miss.arrayBuffer();
    const viaRoute = await stack.app.inject({ method: 'GET', url: url('served before the router') });
    expect(viaRoute.headers['x-cache-status']).toBe('HIT');

    const serve = vi.spyOn(stack.deps.live, 'serve');
    const sql = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const hit = await fetch(`${base}${url('served before the router')}`, { headers: { 'x-request-id': 'trace-42' } });
      const body = Buffer.from(await hit.arrayBuffer());
      expect(serve).not.toHaveBeenCalled();
      expect(sql).not.toHaveBeenCalled();
      expect(hit.status).toBe(200);
      expect(body.equals(viaRoute.rawPayload)).toBe(true);
      const own = ['date', 'connection', 'keep-alive', 'x-request-id', 'x-cache-hit-count'];
      const headersOf = (entries: Iterable<[string, unknown]>) => Object.fromEntries([...entries].filter(([k]) => !own.includes(k)).map(([k, v]) => [k, String(v)]));
      expect(headersOf(hit.headers.entries())).toEqual(headersOf(Object.entries(viaRoute.headers)));
      expect(hit.headers.get('x-request-id')).toBe('trace-42');
      expect(Number(hit.headers.get('x-cache-hit-count'))).toBe(Number(viaRoute.headers['x-cache-hit-count']) + 1);

      const notModified = await fetch(`${base}${url('served before the router')}`, { headers: { 'if-none-match': String(viaRoute.headers.etag) } });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(serve).not.toHaveBeenCalled();

      // Everything else reaches the route: HEAD, and parameters the quick checks leave to zod.
      expect((await fetch(`${base}${url('served before the router')}`, { method: 'HEAD' })).headers.get('x-cache-status')).toBe('HIT');
      expect(serve).toHaveBeenCalledTimes(1);
      const bad = await fetch(`${base}${url('served before the router', '&aspectRatio=7:7')}`);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('cache-control')).toBe('no-store');
      expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'Invalid aspect ratio' });
    } finally {
      serve.mockRestore();
      sql.mockRestore();
    }
    const metrics = await stack.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/banatie_http_requests_total\{method="GET",route="\/cdn\/:org\/:project\/live\/:scope",status="304"\} [1-9]/);
  });

  it('hit counts of another instance reach PostgreSQL when it shuts down', async () => {
    const miss = await stack.app.inject({ method: 'GET', url: url('counted elsewhere') });
    expect(miss.headers['x-cache-status']).toBe('MISS');
    const deps2 = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app2 = await buildApp(deps2);
    for (const n of ['1', '2']) {
      const hit = await app2.inject({ method: 'GET', url: url('counted elsewhere') });
      expect(hit.headers['x-cache-status']).toBe('HIT');
      expect(hit.headers['x-cache-hit-count']).toBe(n);
    }
    const entry = () => stack.db.selectFrom('live_entries').select('hit_count').where('image_id', '=', String(miss.headers['x-image-id'])).executeTakeFirstOrThrow();
    expect((await entry()).hit_count).toBe(0);
    await app2.close();
    await deps2.close();
    expect((await entry()).hit_count).toBe(2);
  });

  it('HEAD on a URL never generated is 404 and starts nothing', async () => {
    const before = await generationCount(stack);
    const res = await stack.app.inject({ method: 'HEAD', url: url('never generated by head') });
    expect(res.statusCode).toBe(404);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await generationCount(stack)).toBe(before);
  });

  it('30 concurrent identical MISSes make one generation and all get identical bytes', async () => {
    stack.fake!.reset();
    stack.fake!.setDefault({ kind: 'image', delayMs: 300 });
    const before = await generationCount(stack);
    const responses = await Promise.all(Array.from({ length: 30 }, () => stack.app.inject({ method: 'GET', url: url('thirty at once') })));
    stack.fake!.setDefault({ kind: 'image' });
    for (const r of responses) {
      expect(r.statusCode, r.body).toBe(200);
      expect(r.rawPayload.equals(responses[0]!.rawPayload)).toBe(true);
      expect(r.headers['x-image-id']).toBe(responses[0]!.headers['x-image-id']);
    }
    expect(imageCalls(stack)).toBe(1);
    expect(await generationCount(stack)).toBe(before + 1);
  });

  it('a failed generation is not cached; a later request tries again', async () => {
    stack.fake!.script({ kind: 'error', status: 400, message: 'bad prompt' });
    const failed = await stack.app.inject({ method: 'GET', url: url('fails the first time') });
    expect(failed.statusCode).toBe(502);
    expect(failed.headers['cache-control']).toBe('no-store');
    // The public body says nothing of the provider or the generation: code, fixed message, request id.
    expect(failed.json().error).toEqual({ code: 'GENERATION_FAILED', message: 'The image could not be generated; a later request tries again', requestId: failed.headers['x-request-id'] });
    expect(failed.body).not.toContain('bad prompt');
    const failedGeneration = await stack.db.selectFrom('generations').select(['id', 'error_code']).where('original_prompt', '=', 'fails the first time').executeTakeFirstOrThrow();
    expect(failedGeneration.error_code).toBe('PROVIDER_REJECTED');
    const entries = await stack.db.selectFrom('live_entries').select('id').where(sql<boolean>`params @> ${JSON.stringify({ prompt: 'fails the first time' })}::jsonb`).execute();
    expect(entries).toHaveLength(0);

    const retried = await stack.app.inject({ method: 'GET', url: url('fails the first time') });
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.headers['x-cache-status']).toBe('MISS');
    expect(retried.headers['x-generation-id']).not.toBe(failedGeneration.id);
  });

  it('a deleted image means a stale entry: the next request regenerates', async () => {
    const first = await stack.app.inject({ method: 'GET', url: url('delete my image') });
    expect(first.headers['x-cache-status']).toBe('MISS');
    expect((await stack.app.inject({ method: 'GET', url: url('delete my image') })).headers['x-cache-status']).toBe('HIT');

    const imageId = String(first.headers['x-image-id']);
    const image = await stack.db.selectFrom('images').select('storage_key').where('id', '=', imageId).executeTakeFirstOrThrow();
    const invalidated = once(stack.deps.live.events, 'invalidated');
    // What DELETE /api/v1/images/:id does: object and row gone (the entry cascades).
    await stack.deps.storage.delete(image.storage_key);
    await stack.db.deleteFrom('images').where('id', '=', imageId).execute();
    await invalidated;

    const again = await stack.app.inject({ method: 'GET', url: url('delete my image') });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['x-cache-status']).toBe('MISS');
    expect(again.headers['x-image-id']).not.toBe(imageId);
  });

  it('an image regenerated in place is served with its new bytes and ETag', async () => {
    const first = await stack.app.inject({ method: 'GET', url: url('regenerated in place') });
    expect((await stack.app.inject({ method: 'GET', url: url('regenerated in place') })).headers['x-cache-status']).toBe('HIT');
    const imageId = String(first.headers['x-image-id']);
    const image = await stack.db.selectFrom('images').select(['storage_key', 'mime_type']).where('id', '=', imageId).executeTakeFirstOrThrow();
    const other = await stack.app.inject({ method: 'GET', url: url('some other picture') });
    const invalidated = once(stack.deps.live.events, 'invalidated');
    // What regenerate does: new bytes under the same key, new ETag and version.
    await stack.deps.storage.put(image.storage_key, other.rawPayload, image.mime_type);
    await stack.db.updateTable('images').set({ etag: '"regenerated"' }).where('id', '=', imageId).execute();
    await invalidated;
    const hit = await stack.app.inject({ method: 'GET', url: url('regenerated in place') });
    expect(hit.headers['x-cache-status']).toBe('HIT');
    expect(hit.headers['x-image-id']).toBe(imageId);
    expect(hit.headers.etag).toBe('"regenerated"');
    expect(hit.rawPayload.equals(other.rawPayload)).toBe(true);
    expect(hit.rawPayload.equals(first.rawPayload)).toBe(false);
  });

  it('after the notification connection is cut, it reconnects, drops its cache and keeps invalidating', async () => {
    const first = await stack.app.inject({ method: 'GET', url: url('survives a reconnect') });
    expect((await stack.app.inject({ method: 'GET', url: url('survives a reconnect') })).headers['x-cache-status']).toBe('HIT');
    const reset = new Promise<void>((resolve) => {
      const onInvalidated = (payload: string) => {
        if (payload !== '*') return;
        stack.deps.live.events.off('invalidated', onInvalidated);
        resolve();
      };
      stack.deps.live.events.on('invalidated', onInvalidated);
    });
    const killed = await sql<{ ok: boolean }>`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE datname = current_database() AND query = 'LISTEN banatie_live'`.execute(stack.db);
    expect(killed.rows.map((r) => r.ok)).toEqual([true]);
    await reset;

    const invalidated = once(stack.deps.live.events, 'invalidated');
    await stack.db.deleteFrom('images').where('id', '=', String(first.headers['x-image-id'])).execute();
    await invalidated;
    const again = await stack.app.inject({ method: 'GET', url: url('survives a reconnect') });
    expect(again.headers['x-cache-status']).toBe('MISS');
  });

  it('a missing stored object is a stale entry too', async () => {
    const first = await stack.app.inject({ method: 'GET', url: url('object vanished', '&aspectRatio=3:2') });
    const image = await stack.db.selectFrom('images').select('storage_key').where('id', '=', String(first.headers['x-image-id'])).executeTakeFirstOrThrow();
    await stack.deps.storage.delete(image.storage_key);
    // Drop the in-process copies (as a reconnect of the notification channel does) so storage is read.
    stack.deps.live.reset();
    const again = await stack.app.inject({ method: 'GET', url: url('object vanished', '&aspectRatio=3:2') });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['x-cache-status']).toBe('MISS');
    expect(again.headers['x-generation-id']).not.toBe(first.headers['x-generation-id']);
  });

  it('aspectRatio, template and autoEnhance make different entries; whitespace in the prompt does not', async () => {
    const base = await stack.app.inject({ method: 'GET', url: url('a red bicycle') });
    expect(base.headers['x-cache-status']).toBe('MISS');
    for (const extra of ['&aspectRatio=4:3', '&template=sticker', '&autoEnhance=false']) {
      const res = await stack.app.inject({ method: 'GET', url: url('a red bicycle', extra) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-cache-status'], extra).toBe('MISS');
    }
    for (const same of [url('  a   red\tbicycle '), '/cdn/acme/site/live/hero?prompt=a+red+bicycle', url('a red bicycle', '&aspectRatio=1:1&autoEnhance=true&template=general')]) {
      const res = await stack.app.inject({ method: 'GET', url: same });
      expect(res.headers['x-cache-status'], same).toBe('HIT');
      expect(res.headers['x-image-id']).toBe(base.headers['x-image-id']);
    }
    // Another scope is another entry.
    expect((await stack.app.inject({ method: 'GET', url: url('a red bicycle', '', 'other') })).headers['x-cache-status']).toBe('MISS');
  });

  it('a holder that died before submitting does not block the key for ever', async () => {
    const projectId = stack.key.projectId;
    const key = liveCacheKey(projectId, 'hero', { prompt: 'orphaned lock', aspectRatio: '1:1', autoEnhance: true, template: 'general', model: 'gemini-2.5-flash-image', imageSize: '1K' });
    await stack.deps.redis.set(`${stack.config.queuePrefix}:live:lock:${projectId}:${key}`, randomUUID(), 'PX', 300);
    const res = await stack.app.inject({ method: 'GET', url: url('orphaned lock') });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['x-cache-status']).toBe('MISS');
  });

  it('rejects bad parameters with 400 and no-store, creating nothing', async () => {
    const before = await generationCount(stack);
    for (const [u, message] of [
      ['/cdn/acme/site/live/hero', 'Prompt is required'],
      ['/cdn/acme/site/live/hero?prompt=%20%20', 'Prompt is required'],
      [url('x', '&aspectRatio=7:3'), 'Invalid aspect ratio'],
      [url('x', '&template=baroque'), 'Invalid template'],
      [url('x', '&autoEnhance=maybe'), 'autoEnhance must be true or false'],
      [url('x', '&size=big'), undefined],
      [`/cdn/acme/site/live/bad%20scope?prompt=x`, undefined],
      [`/cdn/acme/site/live/hero?prompt=${'p'.repeat(4001)}`, 'Prompt must be at most 4000 characters'],
    ] as const) {
      const res = await stack.app.inject({ method: 'GET', url: u });
      expect(res.statusCode, u).toBe(400);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      if (message) expect(res.json().error.message).toBe(message);
    }
    const unknown = await stack.app.inject({ method: 'GET', url: '/cdn/acme/nope/live/hero?prompt=x' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['cache-control']).toBe('no-store');
    expect(await generationCount(stack)).toBe(before);
  });

  it('GET /api/v1/live (seed endpoint) needs a key and caches in scope "api"', async () => {
    expect((await stack.app.inject({ method: 'GET', url: '/api/v1/live?prompt=seeded' })).statusCode).toBe(401);
    const headers = { 'x-api-key': stack.key.key };
    const miss = await stack.app.inject({ method: 'GET', url: '/api/v1/live?prompt=seeded&aspectRatio=9:16', headers });
    expect(miss.statusCode, miss.body).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('MISS');
    const hit = await stack.app.inject({ method: 'GET', url: '/api/v1/live?prompt=seeded&aspectRatio=9:16', headers });
    expect(hit.headers['x-cache-status']).toBe('HIT');
    expect(hit.rawPayload.equals(miss.rawPayload)).toBe(true);
    // The same entry as the public URL of scope "api".
    const pub = await stack.app.inject({ method: 'GET', url: '/cdn/acme/site/live/api?prompt=seeded&aspectRatio=9:16' });
    expect(pub.headers['x-cache-status']).toBe('HIT');
    const bad = await stack.app.inject({ method: 'GET', url: '/api/v1/live?aspectRatio=9:16', headers });
    expect(bad.statusCode).toBe(400);
  });
});

describe('live URLs: a MISS that outlasts the wait', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { LIVE_WAIT_TIMEOUT_MS: '300', SWEEP_INTERVAL_MS: '3600000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 504 with Retry-After while the generation keeps going; the next request gets it', async () => {
    const slow = await stack.app.inject({ method: 'GET', url: url('takes a while') });
    expect(slow.statusCode).toBe(504);
    expect(slow.headers['retry-after']).toBe('5');
    expect(slow.headers['cache-control']).toBe('no-store');
    const body = slow.json();
    expect(body.error).toEqual({ code: 'TIMEOUT', message: 'The image is still being generated; retry shortly', requestId: slow.headers['x-request-id'] });
    const { id: generationId } = await stack.db.selectFrom('generations').select('id').executeTakeFirstOrThrow();

    // Another waiter joins the same generation rather than starting one.
    const second = await stack.app.inject({ method: 'GET', url: url('takes a while') });
    expect(second.statusCode).toBe(504);
    expect(await generationCount(stack)).toBe(1);

    const worker = await startWorkerRuntime(stack.config, createLogger({ level: 'silent' }));
    try {
      let res = await stack.app.inject({ method: 'GET', url: url('takes a while') });
      // The worker may need longer than one wait; each retry joins the same generation.
      while (res.statusCode === 504) {
        expect(await generationCount(stack)).toBe(1);
        res = await stack.app.inject({ method: 'GET', url: url('takes a while') });
      }
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['x-generation-id']).toBe(generationId);
      expect(await generationCount(stack)).toBe(1);
      const hit = await stack.app.inject({ method: 'GET', url: url('takes a while') });
      expect(hit.headers['x-cache-status']).toBe('HIT');
    } finally {
      await worker.close(10_000);
    }
  });
});
