// Event streams on the public internet (SPEC §11): at most SSE_MAX_PER_KEY open
// streams per key across API instances (a crashed instance's slots lapse), a
// stream ends when its key is revoked on another instance or expires, and the
// heartbeats of a real stream hold no more timers or listeners as they pass.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiKeyService, systemClock } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { createStreamSlots } from '@banatie/queue';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { listenStack, startStack, type Stack } from './harness.js';

const MAX_PER_KEY = 2;
const HEARTBEAT_MS = 100;

let stack: Stack;
let baseA: string;
let appB: FastifyInstance;
let baseB: string;
let closeB: () => Promise<void>;

beforeAll(async () => {
  stack = await startStack({ worker: false, env: { SSE_MAX_PER_KEY: String(MAX_PER_KEY), SSE_HEARTBEAT_MS: String(HEARTBEAT_MS) } });
  baseA = await listenStack(stack);
  // B beats at the default period: its streams can only end at once through the revocation broadcast.
  const depsB = await createAppDeps({ ...stack.config, sse: { ...stack.config.sse, heartbeatMs: 15_000 } }, createLogger({ level: 'silent' }));
  appB = await buildApp(depsB);
  await appB.listen({ port: 0, host: '127.0.0.1' });
  baseB = `http://127.0.0.1:${(appB.server.address() as AddressInfo).port}`;
  closeB = async () => {
    await appB.close();
    await depsB.close();
  };
});

afterAll(async () => {
  await closeB?.();
  await stack?.close();
});

interface OpenedStream {
  status: number;
  body: unknown;
  headers: Headers;
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  text(): string;
  /** Resolves once the stream's text passes `check`. */
  until(check: (text: string) => boolean): Promise<void>;
  close(): void;
}

/** Opens GET /api/v1/generations/events on `base` and reads it in the background. */
async function openStream(base: string, key: string): Promise<OpenedStream> {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/api/v1/generations/events`, { headers: { 'x-api-key': key }, signal: ctrl.signal });
  if (res.status !== 200) {
    const body = await res.json();
    return { status: res.status, body, headers: res.headers, ended: Promise.resolve(), text: () => '', until: async () => undefined, close: () => undefined };
  }
  let text = '';
  const waiters: Array<() => void> = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body!) {
        text += decoder.decode(chunk, { stream: true });
        for (const w of waiters.splice(0)) w();
      }
    } catch {
      // aborted by the test
    }
  })();
  const until = async (check: (t: string) => boolean) => {
    while (!check(text)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { status: 200, body: null, headers: res.headers, ended, text: () => text, until, close: () => ctrl.abort() };
}

const slotCount = (keyId: string) => createStreamSlots(stack.deps.redis, stack.config.queuePrefix, { max: MAX_PER_KEY, leaseMs: 1000 }).count(keyId);

async function untilSlots(keyId: string, n: number): Promise<void> {
  while ((await slotCount(keyId)) !== n) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('open streams per key (SSE_MAX_PER_KEY)', () => {
  it('counts streams across API instances: past the limit 429 with Retry-After; other keys unaffected; a closed stream frees its slot', async () => {
    const key = await stack.createKey('acme', 'slots', { role: 'standard' });
    const onA = await openStream(baseA, key.key);
    const onB = await openStream(baseB, key.key);
    expect([onA.status, onB.status]).toEqual([200, 200]);

    for (const base of [baseA, baseB]) {
      const refused = await openStream(base, key.key);
      expect(refused.status).toBe(429);
      expect((refused.body as any).error.code).toBe('RATE_LIMIT_EXCEEDED');
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(await slotCount(key.keyId)).toBe(MAX_PER_KEY);

    const other = await stack.createKey('acme', 'slots', { role: 'standard' });
    const otherStream = await openStream(baseA, other.key);
    expect(otherStream.status).toBe(200);
    otherStream.close();

    onB.close();
    await untilSlots(key.keyId, MAX_PER_KEY - 1);
    const again = await openStream(baseB, key.key);
    expect(again.status).toBe(200);
    again.close();
    onA.close();
    await untilSlots(key.keyId, 0);
  });

  it('slots held by an instance that vanished lapse with their lease', async () => {
    const key = await stack.createKey('acme', 'crashed', { role: 'standard' });
    // A "crashed" API: slots taken with a short lease that nobody renews or releases.
    const crashed = createStreamSlots(stack.deps.redis, stack.config.queuePrefix, { max: MAX_PER_KEY, leaseMs: 300 });
    for (let i = 0; i < MAX_PER_KEY; i++) expect(await crashed.acquire(key.keyId, `dead-${i}`)).toBe(true);
    expect((await openStream(baseA, key.key)).status).toBe(429);
    await untilSlots(key.keyId, 0);
    const after = await openStream(baseA, key.key);
    expect(after.status).toBe(200);
    after.close();
  });

  it('a refused stream holds neither a stream nor a slot', async () => {
    const key = await stack.createKey('acme', 'refused', { role: 'standard' });
    const held = [await openStream(baseA, key.key), await openStream(baseA, key.key)];
    const before = stack.app.openStreams.size;
    expect((await openStream(baseA, key.key)).status).toBe(429);
    // Streams of earlier tests may still be ending: the refused one must only not add any.
    expect(stack.app.openStreams.size).toBeLessThanOrEqual(before);
    expect(await slotCount(key.keyId)).toBe(2);
    for (const s of held) s.close();
  });
});

describe('a stream outlives neither its key nor its expiry', () => {
  it('a stream open on API B ends when the key is revoked through API A', async () => {
    const master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
    const key = await stack.createKey('acme', 'revoked', { role: 'standard' });
    const onB = await openStream(baseB, key.key);
    expect(onB.status).toBe(200);

    const revoke = await fetch(`${baseA}/api/admin/keys/${key.keyId}`, { method: 'DELETE', headers: { 'x-api-key': master } });
    expect(revoke.status).toBe(200);
    // B's heartbeat re-check would take up to 15 s: the broadcast ends the stream first.
    await onB.ended;
    expect(appB.openStreams.size).toBe(0);
    await untilSlots(key.keyId, 0);
    expect((await openStream(baseB, key.key)).status).toBe(401);
  }, 10_000);

  it('a stream ends once its key expires', async () => {
    const key = await stack.createKey('acme', 'expiring', { role: 'standard' });
    await stack.db.updateTable('api_keys').set({ expires_at: new Date(Date.now() + 1500) }).where('id', '=', key.keyId).execute();
    const stream = await openStream(baseA, key.key);
    expect(stream.status).toBe(200);
    await stream.ended;
    expect((await openStream(baseA, key.key)).status).toBe(401);
  });
});

describe('heartbeats of a real stream', () => {
  it('hold one timer and the same listeners however many heartbeats pass', async () => {
    // The server side of the stream: its response and socket, as the HTTP server hands them to Fastify.
    const emitters: EventEmitter[] = [];
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/api/v1/generations/events') emitters.push(res, req.socket);
    };
    stack.app.server.on('request', onRequest);
    const stream = await openStream(baseA, stack.key.key);
    stack.app.server.off('request', onRequest);
    expect(stream.status).toBe(200);
    expect(emitters).toHaveLength(2);
    const beats = (n: number) => stream.until((t) => t.split(': keep-alive').length - 1 >= n);
    const listeners = () => emitters.reduce((sum, e) => sum + e.eventNames().reduce((n, name) => n + e.listenerCount(name), 0), 0);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

    await beats(3);
    const [listenersBefore, timersBefore] = [listeners(), timers()];
    await beats(40);
    // A timer or a listener per heartbeat would add ~37 of each.
    expect(listeners()).toBe(listenersBefore);
    expect(timers()).toBeLessThanOrEqual(timersBefore + 2);
    stream.close();
    await stream.ended;
  });
});
