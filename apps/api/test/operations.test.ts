// Operations: the bull-board dashboard behind the master key, the API's and the
// worker's Prometheus series after real generations (fake Gemini through the real SDK).
import { apiKeyService, systemClock } from '@banatie/core';
import { freePort, startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppWithoutRedis, startStack, waitForTerminal, type Stack } from './harness.js';

let stack: Stack;
let master: string;
let receiver: WebhookReceiver;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  stack = await startStack({
    provider: 'gemini',
    env: { WEBHOOK_ALLOW_PRIVATE: 'true', HOST: '127.0.0.1', WORKER_METRICS_PORT: String(metricsPort) },
  });
  master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const dashboard = (headers: Record<string, string> = {}, url = '/admin/queues') => stack.app.inject({ method: 'GET', url, headers });

describe('queue dashboard at /admin/queues', () => {
  it('answers 401 with a Basic challenge without a key, with a project key, or with a wrong password', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-api-key': stack.key.key },
      { authorization: basic('admin', stack.key.key) },
      { authorization: basic('admin', `bnt_${'A'.repeat(40)}`) },
      { authorization: 'Basic !!!' },
      { authorization: `Bearer ${master}` },
    ];
    for (const headers of attempts) {
      const res = await dashboard(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="banatie admin"');
      expect(res.json()).toEqual({ success: false, error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } });
    }
    const api = await dashboard({ 'x-api-key': stack.key.key }, '/admin/queues/api/queues');
    expect(api.statusCode).toBe(401);
  });

  it('serves the board with the master key as X-API-Key or as the Basic password (any user)', async () => {
    const accepted: Array<Record<string, string>> = [{ 'x-api-key': master }, { authorization: basic('admin', master) }, { authorization: basic('', master) }];
    for (const headers of accepted) {
      const res = await dashboard(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('Banatie queues');
    }
  });

  it('stays out of the OpenAPI document', async () => {
    const doc = (await stack.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });

  it("the board's API lists the generation and webhook queues", async () => {
    const res = await dashboard({ authorization: basic('ops', master) }, '/admin/queues/api/queues');
    expect(res.statusCode).toBe(200);
    const names = (res.json().queues as Array<{ name: string }>).map((q) => q.name).sort();
    expect(names).toEqual(['generations', 'webhooks']);
  });

  it('refuses a state-changing request sent by another site (Basic credentials are replayed by browsers)', async () => {
    const res = await stack.app.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/webhooks/pause',
      headers: { authorization: basic('admin', master), 'sec-fetch-site': 'cross-site' },
    });
    expect(res.statusCode).toBe(403);
    const paused = await stack.deps.webhookQueue.isPaused();
    expect(paused).toBe(false);
  });
});

/** Polls `read` until `check` passes or the deadline ends (then fails with the last text). */
async function until(read: () => Promise<string>, check: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  let text = '';
  while (Date.now() < deadline) {
    text = await read();
    if (check(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} never appeared in:\n${text}`);
}

/** The value of one sample (`name{labels}`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const workerMetrics = async () => {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
};
const apiMetrics = async () => {
  const res = await stack.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
};
const submit = async (body: object) => {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: body });
  expect(res.statusCode).toBe(202);
  return res.json().data.id as string;
};

describe('metrics', () => {
  it('the API shows queue depth by state and the age of the oldest waiting job', async () => {
    await stack.worker!.worker.pause();
    let id: string;
    try {
      id = await submit({ prompt: 'waits for a worker', autoEnhance: false });
      const text = await until(
        apiMetrics,
        (t) => (sample(t, 'banatie_queue_oldest_waiting_seconds{queue="generations"}') ?? 0) > 0,
        'an oldest waiting job',
      );
      // Queued at its place in the fair order: BullMQ keeps jobs with a priority in its prioritized set.
      expect(sample(text, 'banatie_queue_jobs{queue="generations",state="prioritized"}')).toBe(1);
      expect(sample(text, 'banatie_queue_jobs{queue="generations",state="waiting"}')).toBe(0);
      expect(sample(text, 'banatie_queue_jobs{queue="generations",state="active"}')).toBe(0);
      expect(sample(text, 'banatie_queue_jobs{queue="webhooks",state="waiting"}')).toBe(0);
      expect(sample(text, 'banatie_queue_oldest_waiting_seconds{queue="webhooks"}')).toBe(0);
    } finally {
      stack.worker!.worker.resume();
    }
    expect((await waitForTerminal(stack, id)).status).toBe('success');
    const after = await until(apiMetrics, (t) => sample(t, 'banatie_queue_jobs{queue="generations",state="completed"}') === 1, 'a completed job');
    expect(sample(after, 'banatie_queue_oldest_waiting_seconds{queue="generations"}')).toBe(0);
    expect(after).toMatch(/banatie_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/generations"\} 1/);
  });

  it('the worker serves generation outcomes by error code, Gemini latency and status, and webhook deliveries', async () => {
    const before = await workerMetrics();
    const ok = await submit({ prompt: 'a counted success', autoEnhance: false, webhookUrl: `${receiver.url}/hook` });
    expect((await waitForTerminal(stack, ok)).status).toBe('success');
    stack.fake!.script({ kind: 'error', status: 400 });
    const bad = await submit({ prompt: 'a counted failure', autoEnhance: false });
    expect((await waitForTerminal(stack, bad)).error.code).toBe('PROVIDER_REJECTED');
    await receiver.waitFor(1, '/hook');

    const model = 'gemini-2.5-flash-image';
    const gen = `operation="generate_image",model="${model}"`;
    const delivered = 'banatie_webhook_deliveries_total{outcome="delivered",status_class="2xx"}';
    const text = await until(workerMetrics, (t) => sample(t, delivered) === 1, 'a delivered webhook');
    const grew = (series: string) => (sample(text, series) ?? 0) - (sample(before, series) ?? 0);
    expect(grew('banatie_generations_total{status="success"}')).toBe(1);
    expect(grew('banatie_generations_total{status="failed",error_code="PROVIDER_REJECTED"}')).toBe(1);
    expect(grew('banatie_generation_duration_seconds_count{status="success"}')).toBe(1);
    expect(grew('banatie_generation_duration_seconds_count{status="failed"}')).toBe(1);
    expect(grew(`banatie_gemini_requests_total{${gen},status="200",code="OK"}`)).toBe(1);
    expect(grew(`banatie_gemini_requests_total{${gen},status="400",code="PROVIDER_REJECTED"}`)).toBe(1);
    expect(grew(`banatie_gemini_request_duration_seconds_count{${gen},outcome="ok"}`)).toBe(1);
    expect(grew(`banatie_gemini_request_duration_seconds_count{${gen},outcome="error"}`)).toBe(1);
    expect(text).toContain(`banatie_gemini_request_duration_seconds_bucket{le="120",${gen},outcome="ok"}`);
    expect(grew('banatie_webhook_delivery_duration_seconds_count{outcome="delivered"}')).toBe(1);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('an API whose Redis is down still answers /metrics, without the queue series', async () => {
    const { app, close } = await startAppWithoutRedis(stack);
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('# TYPE banatie_queue_jobs gauge');
      expect(res.body).not.toMatch(/^banatie_queue_jobs\{/m);
      expect(res.body).toContain('process_resident_memory_bytes');
    } finally {
      await close();
    }
  });

  it('the worker listener answers 404 for anything but /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });
});
