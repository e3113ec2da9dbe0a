import { once } from 'node:events';
import { LiveService, systemClock } from '@banatie/core';
import type { Database } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import { createSharedState } from '@banatie/queue';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerRuntime } from '../../worker/src/runtime.js';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

/** Waiting live MISSes (SPEC §11): woken by the status events, not by polling PostgreSQL; bounded per process. */

let stack: Stack;

beforeAll(async () => {
  // No worker: generations wait until a test starts one.
  stack = await startStack({ worker: false, env: { LIVE_MISS_PER_IP_PER_HOUR: '0', SWEEP_INTERVAL_MS: '3600000' } });
});
afterAll(async () => {
  await stack?.close();
});

const live = (prompt: string) => `/cdn/acme/site/live/waiters?prompt=${encodeURIComponent(prompt)}`;

/** Resolves once `service` holds `n` open MISSes. */
async function untilWaiting(service: LiveService, n: number): Promise<void> {
  while (service.waiting < n) await once(service.events, 'waiting');
}

async function generationCount(): Promise<number> {
  const row = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('live waiters', () => {
  it('20 waiters of one generation read its row a few times in all, woken by its status events', async () => {
    const statements: string[] = [];
    const pool = new pg.Pool({ connectionString: stack.config.databaseUrl, max: 4 });
    pool.on('error', () => undefined);
    const recording = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (e) => void statements.push(e.query.sql) });
    const c = stack.config;
    const service = new LiveService({
      db: recording,
      shared: createSharedState(stack.deps.redis, c.queuePrefix),
      queue: stack.deps.jobs,
      events: stack.deps.events,
      storage: stack.deps.storage,
      clock: systemClock,
      publicBaseUrl: c.publicBaseUrl,
      missPerIpPerHour: 0,
      waitTimeoutMs: 60_000,
      hitFlushMs: 60_000,
      hotCacheBytes: 1024 * 1024,
      maxWaiters: 100,
    });
    try {
      const pending = Array.from({ length: 20 }, () =>
        service.serve({ orgSlug: 'acme', projectSlug: 'site', scope: 'waiters', query: { prompt: 'twenty waiters' }, path: '/', rawQuery: '', ip: '10.0.0.1' }),
      );
      await untilWaiting(service, 20);
      const worker = await startWorkerRuntime(stack.config, createLogger({ level: 'silent' }));
      try {
        const images = await Promise.all(pending);
        expect(new Set(images.map((i) => i.imageId)).size).toBe(1);
        expect(images.every((i) => i.body.equals(images[0]!.body))).toBe(true);
      } finally {
        await worker.close(10_000);
      }
      expect(await generationCount()).toBe(1);
      // One read when the watch opens, one per status event (processing, success) and at most a safety re-check
      // or two: polling per waiter would read it at least once per waiter.
      const generationReads = statements.filter((s) => /^select \* from "generations" where "id" = \$1$/.test(s));
      expect(generationReads.length).toBeGreaterThanOrEqual(2);
      expect(generationReads.length).toBeLessThanOrEqual(6);
    } finally {
      await service.close();
      await recording.destroy();
    }
  });

  it('past LIVE_MAX_WAITERS a MISS is 503 with Retry-After, creating nothing; the waiters still get their images', async () => {
    const deps = await createAppDeps({ ...stack.config, live: { ...stack.config.live, maxWaiters: 3 } }, createLogger({ level: 'silent' }));
    const app = await buildApp(deps);
    try {
      const waiting = ['bounded one', 'bounded two', 'bounded one'].map((p) => app.inject({ method: 'GET', url: live(p) }));
      await untilWaiting(deps.live, 3);
      const refused = await app.inject({ method: 'GET', url: live('bounded three') });
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.headers['retry-after']).toBe('2');
      expect(refused.headers['cache-control']).toBe('no-store');
      expect(refused.json().error).toEqual({ code: 'SERVICE_UNAVAILABLE', message: expect.any(String), requestId: refused.headers['x-request-id'] });
      // The refused MISS left nothing: no generation, no entry (the waiters' own may still be being submitted).
      const made = await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', 'bounded three').execute();
      expect(made).toHaveLength(0);
      const entries = await stack.db.selectFrom('live_entries').select('id').where('params', '@>', JSON.stringify({ prompt: 'bounded three' }) as never).execute();
      expect(entries).toHaveLength(0);

      const worker = await startWorkerRuntime(stack.config, createLogger({ level: 'silent' }));
      try {
        for (const res of await Promise.all(waiting)) expect(res.statusCode, res.body).toBe(200);
        expect(deps.live.waiting).toBe(0);
        const retried = await app.inject({ method: 'GET', url: live('bounded three') });
        expect(retried.statusCode, retried.body).toBe(200);
      } finally {
        await worker.close(10_000);
      }
    } finally {
      await app.close();
      await deps.close();
    }
  });
});
