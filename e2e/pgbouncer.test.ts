// Behind PgBouncer in transaction mode (SPEC §14): two APIs, a worker and the
// CLI with DATABASE_URL pointing at a real PgBouncer (Debian's, pool_mode
// transaction) and DATABASE_DIRECT_URL at PostgreSQL for the session the API's
// LISTEN needs. Submits, processing, polls and waits, webhooks, live MISS and
// HIT, and a live-cache invalidation that has to cross instances via LISTEN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgBouncer, startWebhookReceiver, type PgBouncerHandle, type TestDatabase, type WebhookReceiver } from '@banatie/testing';
import { PNG_SIGNATURE, submitGeneration, waitForTerminal, type ApiProcess } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const SUBMITS = 12;

describe('two APIs and a worker behind PgBouncer (transaction pooling)', () => {
  let stack: TestStack;
  let database: TestDatabase;
  let bouncer: PgBouncerHandle;
  let receiver: WebhookReceiver;
  let apis: ApiProcess[];
  let key: string;

  beforeAll(async () => {
    // A small pool, so server connections are shared between clients as in production.
    [bouncer, receiver] = await Promise.all([startPgBouncer({ poolSize: 4 }), startWebhookReceiver()]);
    stack = await startTestStack({
      apis: 2,
      workers: 1,
      key: 'acme/pooled',
      env: (db) => ({
        DATABASE_URL: bouncer.url(db.name),
        DATABASE_DIRECT_URL: db.url,
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WORKER_CONCURRENCY: '4',
      }),
    });
    ({ database, apis } = stack);
    key = stack.key.key;
  });

  afterAll(async () => {
    await stack?.stop();
    await Promise.allSettled([bouncer?.close(), receiver?.close()]);
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
