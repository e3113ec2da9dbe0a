// Behind PgBouncer in transaction mode (SPEC §14): two APIs, a worker and the
// CLI with DATABASE_URL pointing at a real PgBouncer (Debian's, pool_mode
// transaction) and DATABASE_DIRECT_URL at PostgreSQL for the session the API's
// LISTEN needs. Submits, processing, polls and waits, webhooks, live MISS and
// HIT, and a live-cache invalidation that has to cross instances via LISTEN.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_REDIS_URL,
  createTestDatabase,
  startPgBouncer,
  startWebhookReceiver,
  testQueuePrefix,
  type PgBouncerHandle,
  type TestDatabase,
  type WebhookReceiver,
} from '@banatie/testing';
import {
  PNG_SIGNATURE,
  runCli,
  startApi,
  startWorker,
  stopAll,
  submitGeneration,
  waitForTerminal,
  type ApiProcess,
  type Env,
} from './helpers/processes.js';

const SUBMITS = 12;

describe('two APIs and a worker behind PgBouncer (transaction pooling)', () => {
  let database: TestDatabase;
  let bouncer: PgBouncerHandle;
  let receiver: WebhookReceiver;
  let storageDir: string;
  let env: Env;
  const apis: ApiProcess[] = [];
  let key: string;

  beforeAll(async () => {
    // A small pool, so server connections are shared between clients as in production.
    [database, bouncer, receiver, storageDir] = await Promise.all([
      createTestDatabase(),
      startPgBouncer({ poolSize: 4 }),
      startWebhookReceiver(),
      mkdtemp(join(tmpdir(), 'banatie-pgbouncer-e2e-')),
    ]);
    env = {
      DATABASE_URL: bouncer.url(database.name),
      DATABASE_DIRECT_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      STORAGE_DRIVER: 'fs',
      STORAGE_DIR: storageDir,
      IMAGE_PROVIDER: 'local',
      RATE_LIMIT_PER_HOUR: '0',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'info',
    };
    const cli = await runCli(['key', 'create', 'acme/pooled', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    key = JSON.parse(cli.stdout).key;
    const started = await Promise.all([startApi(env), startApi(env), startWorker(env)]);
    apis.push(started[0] as ApiProcess, started[1] as ApiProcess);
  });

  afterAll(async () => {
    await stopAll();
    await Promise.allSettled([bouncer?.close(), receiver?.close(), database?.drop(), storageDir && rm(storageDir, { recursive: true, force: true })]);
  });

  it(`${SUBMITS} generations: submitted, processed, polled with Prefer: wait, each webhook delivered once`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < SUBMITS; i++) {
      const res = await submitGeneration(apis[i % 2]!.url, key, { prompt: `pooled ${i}`, autoEnhance: false, webhookUrl: `${receiver.url}/hook` });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      ids.push(res.body.data.id);
    }
    const finals = await Promise.all(ids.map((id, i) => waitForTerminal(apis[(i + 1) % 2]!.url, key, id)));
    for (const g of finals) expect(g, JSON.stringify(g)).toMatchObject({ status: 'success', attempts: 1 });
    const png = await fetch(finals[0]!.outputImage!.url);
    expect(Buffer.from(await png.arrayBuffer()).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);

    const hooks = await receiver.waitFor(SUBMITS, '/hook');
    const delivered = hooks.map((h) => JSON.parse(h.body) as { type: string; data: { id: string } });
    expect(delivered.map((d) => d.type)).toEqual(Array(SUBMITS).fill('generation.succeeded'));
    expect(new Set(delivered.map((d) => d.data.id))).toEqual(new Set(ids));
  });

  it('live URLs: a MISS on one API, HITs on both, and deleting the image on one drops it from the other (LISTEN on the direct connection)', async () => {
    const url = (api: ApiProcess) => `${api.url}/cdn/acme/pooled/live/hero?prompt=${encodeURIComponent('through the pooler')}`;
    const miss = await fetch(url(apis[0]!));
    expect(miss.status, await miss.clone().text()).toBe(200);
    expect(miss.headers.get('x-cache-status')).toBe('MISS');
    const imageId = miss.headers.get('x-image-id')!;
    await miss.arrayBuffer();
    for (const api of apis) {
      const hit = await fetch(url(api));
      expect(hit.headers.get('x-cache-status')).toBe('HIT');
      expect(hit.headers.get('x-image-id')).toBe(imageId);
      await hit.arrayBuffer();
    }

    const deleted = await fetch(`${apis[1]!.url}/api/v1/images/${imageId}`, { method: 'DELETE', headers: { 'x-api-key': key } });
    expect(deleted.status).toBe(200);
    // API 0 holds the entry in memory with no expiry: only the NOTIFY it LISTENs for drops it.
    let served = imageId;
    while (served === imageId) {
      const res = await fetch(url(apis[0]!));
      expect(res.status).toBe(200);
      served = res.headers.get('x-image-id')!;
      await res.arrayBuffer();
      if (served === imageId) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(served).not.toBe(imageId);
  });

  it('the traffic really went through PgBouncer', async () => {
    const stats = await bouncer.admin('SHOW STATS');
    const ours = stats.find((row) => row.database === database.name);
    // Each generation is several transactions (submit, processing, success, webhook record, polls).
    expect(Number(ours?.total_xact_count ?? 0)).toBeGreaterThan(SUBMITS * 4);
  });
});
