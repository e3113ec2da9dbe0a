// Redis stopped and started again under a running API and worker (a private,
// non-persistent redis-server: its restart also loses every queued job, which
// the sweeper must put back from PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, submitGeneration, waitForTerminal, type ApiProcess, type ManagedProcess } from '../helpers/processes.js';
import { startChaosWorld, startRedisServer, type ChaosWorld, type RedisServer } from './setup.js';

const QUEUED = 6;
let redis: RedisServer;
let world: ChaosWorld;
let api: ApiProcess;
let worker: ManagedProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  world = await startChaosWorld({ redisUrl: redis.url, env: { WORKER_CONCURRENCY: '1' } });
  [api, worker] = await Promise.all([startApi(world.env), startWorker(world.env)]);
});

afterAll(async () => {
  await stopAll();
  await redis?.stop();
  await world?.close();
});

/** A request that must answer (not hang): bounded so a hang fails the test instead of stalling it. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
}

describe('Redis outage', () => {
  it('API answers 503 with Retry-After while Redis is down; queued generations all complete after it is back', async () => {
    // Slow images so several generations are still queued when Redis goes away.
    await world.fake.setDefault({ kind: 'image', delayMs: 800 });
    const ids: string[] = [];
    for (let i = 0; i < QUEUED; i++) {
      const r = await submitGeneration(api.url, world.key, { prompt: `queued before the outage ${i}`, autoEnhance: false, webhookUrl: `${world.receiver.url}/outage` });
      expect(r.status).toBe(202);
      ids.push(r.body.data.id);
    }

    await redis.stop();
    const submit = await call('/api/v1/generations', {
      method: 'POST',
      headers: { 'x-api-key': world.key, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'during the outage' }),
    });
    expect(submit.status).toBe(503);
    expect(submit.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await submit.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    const ready = await call('/ready');
    expect(ready.status).toBe(503);
    const waited = await call(`/api/v1/generations/${ids[0]}`, { headers: { 'x-api-key': world.key, prefer: 'wait=5' } });
    // Prefer: wait needs the Redis channel: 503 rather than a hang.
    expect(waited.status).toBe(503);
    expect(waited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(worker.proc.exitCode).toBeNull();
    expect(api.proc.exitCode).toBeNull();
    const during = await world.database.db.selectFrom('generations').select('id').where('prompt', '=', 'during the outage').execute();
    expect(during).toHaveLength(0);

    await redis.start();
    for (;;) {
      const r = await call('/ready');
      if (r.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const finals = await Promise.all(ids.map((id) => waitForTerminal(api.url, world.key, id, { timeoutMs: 90_000 })));
    expect(finals.map((g) => g.status)).toEqual(ids.map(() => 'success'));
    const after = await submitGeneration(api.url, world.key, { prompt: 'after the outage', autoEnhance: false });
    expect(after.status).toBe(202);
    expect((await waitForTerminal(api.url, world.key, after.body.data.id)).status).toBe('success');

    // Every success webhook arrives, once each (some were lost with Redis and re-queued by the sweeper).
    const hooks = await world.receiver.waitFor(QUEUED, '/outage');
    expect(new Set(hooks.map((h) => JSON.parse(h.body).data.id))).toEqual(new Set(ids));
    expect(worker.proc.exitCode).toBeNull();
    expect(api.proc.exitCode).toBeNull();
    expect((await worker.stop('SIGTERM', 20_000)).code).toBe(0);
    expect(world.receiver.received.filter((h) => h.path === '/outage')).toHaveLength(QUEUED);
    // The restarted Redis had no jobs: the sweeper put them back from PostgreSQL.
    expect(worker.logs.some((l) => l.includes('sweeper re-enqueued'))).toBe(true);
    const images = await world.database.db.selectFrom('images').select('generation_id').execute();
    expect(images).toHaveLength(QUEUED + 1);
  });
});
