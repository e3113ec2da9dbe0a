// No hangs with Redis down (SPEC §14): a private redis-server is stopped under a
// running API (no worker: generations stay pending), or paused (SIGSTOP: it stops
// answering). New submits, `Prefer: wait`, event streams and live MISSes answer
// 503 within 3 s; requests already waiting
// when Redis goes away still end (the subscriber's unsubscribe, queued until
// Redis returns, must not hold them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, stopAll, submitGeneration, type ApiProcess } from '../helpers/processes.js';
import { startChaosWorld, startRedisServer, type ChaosWorld, type RedisServer } from './setup.js';

// SPEC §14: every request type answers 503 within this bound.
const ANSWER_BOUND_MS = 3000;
// Requests are aborted past this, so a hang fails the test instead of stalling it.
const HANG_MS = 20_000;
const LIVE_WAIT_MS = 3000;

let redis: RedisServer;
let world: ChaosWorld;
let api: ApiProcess;
let pendingId: string;

beforeAll(async () => {
  redis = await startRedisServer();
  world = await startChaosWorld({ redisUrl: redis.url, env: { SSE_HEARTBEAT_MS: '500', LIVE_WAIT_TIMEOUT_MS: String(LIVE_WAIT_MS) } });
  api = await startApi(world.env);
  const r = await submitGeneration(api.url, world.key, { prompt: 'pending through the outage', autoEnhance: false });
  expect(r.status).toBe(202);
  pendingId = r.body.data.id;
});

afterAll(async () => {
  await stopAll();
  await redis?.stop();
  await world?.close();
});

const auth = () => ({ 'x-api-key': world.key });
const liveUrl = (prompt: string) => `${api.url}/cdn/chaos/site/live/hero?prompt=${encodeURIComponent(prompt)}`;

/** The response and how long its head took; the body is read (an SSE body ends when the server ends the stream). */
async function timed(url: string, init: RequestInit = {}): Promise<{ res: Response; ms: number; body: string }> {
  const start = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(HANG_MS) });
  const ms = Date.now() - start;
  return { res, ms, body: await res.text() };
}

async function untilReady(): Promise<void> {
  for (;;) {
    const r = await fetch(`${api.url}/ready`, { signal: AbortSignal.timeout(HANG_MS) });
    if (r.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function expect503(r: { res: Response; ms: number; body: string }, what: string): void {
  expect(r.res.status, `${what}: ${r.body}`).toBe(503);
  expect(r.res.headers.get('retry-after'), what).toMatch(/^\d+$/);
  expect((JSON.parse(r.body) as { error: { code: string } }).error.code, what).toBe('SERVICE_UNAVAILABLE');
  expect(r.ms, `${what} answered in ${r.ms} ms`).toBeLessThan(ANSWER_BOUND_MS);
}

describe('Redis down', () => {
  it('submits, Prefer: wait, both event streams and live MISSes answer 503 within 3 s; /ready names redis', async () => {
    await untilReady();
    await redis.stop();

    const submit = await timed(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'submitted while redis is down', autoEnhance: false }),
    });
    expect503(submit, 'submit');
    expect503(await timed(`${api.url}/api/v1/generations/${pendingId}`, { headers: { ...auth(), prefer: 'wait=10' } }), 'Prefer: wait');
    expect503(await timed(`${api.url}/api/v1/generations/${pendingId}/events`, { headers: auth() }), 'generation events');
    expect503(await timed(`${api.url}/api/v1/generations/events`, { headers: auth() }), 'project events');
    expect503(await timed(liveUrl('a live miss while redis is down')), 'live MISS');

    const ready = await timed(`${api.url}/ready`);
    expect503(ready, '/ready');
    const error = (JSON.parse(ready.body) as { error: { message: string; details: Record<string, string> } }).error;
    expect(error.details).toEqual({ postgres: 'ok', redis: 'down', storage: 'ok' });
    expect(error.message).toContain('redis');

    // Nothing was stored, and the model was never asked.
    const rows = await world.database.db.selectFrom('generations').select('prompt').execute();
    expect(rows.map((r) => r.prompt)).toEqual(['pending through the outage']);
    expect(await world.fake.requests()).toEqual([]);
    expect(api.proc.exitCode).toBeNull();

    await redis.start();
    await untilReady();
  });

  it('a Redis that stops answering (SIGSTOP): the same requests answer 503 within 3 s', async () => {
    await untilReady();
    redis.pause();
    try {
      expect503(
        await timed(`${api.url}/api/v1/generations`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'submitted while redis is silent', autoEnhance: false }),
        }),
        'submit',
      );
      expect503(await timed(`${api.url}/api/v1/generations/${pendingId}`, { headers: { ...auth(), prefer: 'wait=10' } }), 'Prefer: wait');
      expect503(await timed(`${api.url}/api/v1/generations/${pendingId}/events`, { headers: auth() }), 'generation events');
      expect503(await timed(`${api.url}/api/v1/generations/events`, { headers: auth() }), 'project events');
      expect503(await timed(liveUrl('a live miss while redis is silent')), 'live MISS');
      const rows = await world.database.db.selectFrom('generations').select('prompt').where('prompt', 'like', '%silent%').execute();
      expect(rows).toEqual([]);
    } finally {
      redis.resume();
    }
    await untilReady();
  });

  it('a wait, a stream and a live MISS already running when Redis goes away still end', async () => {
    await untilReady();
    // A live MISS that waits for its generation (no worker: it stays pending until LIVE_WAIT_TIMEOUT_MS).
    const live = timed(liveUrl('a live miss across the outage'));
    const waiting = timed(`${api.url}/api/v1/generations/${pendingId}`, { headers: { ...auth(), prefer: 'wait=2' } });
    const stream = await fetch(`${api.url}/api/v1/generations/${pendingId}/events`, { headers: auth(), signal: AbortSignal.timeout(HANG_MS) });
    expect(stream.status).toBe(200);
    const streamBody = stream.text();
    // The live MISS has started its generation (so it is waiting on its channel).
    while (!(await world.database.db.selectFrom('generations').select('id').where('original_prompt', '=', 'a live miss across the outage').executeTakeFirst())) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    await redis.stop();
    // The wait ends when its time is up, with the row as it is.
    const waited = await waiting;
    expect(waited.res.status, waited.body).toBe(200);
    expect((JSON.parse(waited.body) as { data: { status: string } }).data.status).toBe('pending');
    // The live MISS ends by its deadline, not when Redis comes back: 504 if it was waiting on its
    // channel, 503 if Redis went away while it was still queueing its generation.
    const missed = await live;
    expect([503, 504], missed.body).toContain(missed.res.status);
    expect(missed.ms).toBeLessThan(LIVE_WAIT_MS + ANSWER_BOUND_MS);
    // The stream reads the row at each heartbeat: it sees the generation end, sends it, and closes.
    await world.database.db.updateTable('generations').set({ status: 'cancelled' }).where('id', '=', pendingId).execute();
    const frames = (await streamBody).split('\n\n').filter((f) => f.includes('event: status'));
    expect(frames.at(-1)).toContain('"status":"cancelled"');
    expect(api.proc.exitCode).toBeNull();
  });
});
