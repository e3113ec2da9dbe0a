// The worker's liveness probe: GET /health on its metrics listener
// (WORKER_METRICS_PORT), used by the Kubernetes manifests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../e2e/helpers/processes.js';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let port: number;

beforeAll(async () => {
  port = await freePort();
  stack = await startStack({ provider: 'gemini', env: { HOST: '127.0.0.1', WORKER_METRICS_PORT: String(port), GEMINI_TIMEOUT_MS: '30000' } });
});

afterAll(async () => {
  await stack?.close();
});

const health = async () => {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, cache: res.headers.get('cache-control') };
};

describe('worker GET /health', () => {
  it('200 while both job loops run', async () => {
    expect(await health()).toEqual({
      status: 200,
      body: { status: 'ok', generations: 'running', webhooks: 'running', redis: 'ready' },
      cache: 'no-store',
    });
  });

  it('503 once a job loop has stopped (restart the process)', async () => {
    await stack.worker!.webhookWorker.close();
    expect(await health()).toMatchObject({ status: 503, body: { status: 'down', generations: 'running', webhooks: 'stopped' } });
  });

  it('a worker that is shutting down (finishing a job) still counts as alive', async () => {
    // A job in flight (its image call takes 6 s) keeps the shutdown going.
    stack.fake!.script({ kind: 'image', delayMs: 6000 });
    const res = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/generations',
      headers: { 'x-api-key': stack.key.key },
      payload: { prompt: 'in flight during shutdown', autoEnhance: false },
    });
    const id = res.json().data.id as string;
    while ((await stack.db.selectFrom('generations').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status !== 'processing') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const closing = stack.worker!.close(20_000);
    expect((await health()).status).toBe(200);
    expect(await closing).toBe(true);
    const row = await stack.db.selectFrom('generations').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.status).toBe('success');
  });
});
