import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { deliverWebhook, outputImageIdFor, systemClock, webhookMessageId } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import { createGenerationQueue, createRedis, generationJobId } from '@banatie/queue';
import { startWebhookReceiver, type WebhookReceiver } from '@banatie/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

const silent = createLogger({ level: 'silent' });

async function submit(stack: Stack, body: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: body });
  return res;
}

async function webhookSecret(stack: Stack): Promise<string> {
  const res = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } });
  return res.json().data.webhookSecret;
}

/** Attempts are recorded just after the receiver answers: wait until `count` are listed. */
async function attemptsOf(stack: Stack, id: string, count: number): Promise<any[]> {
  for (;;) {
    const res = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}/webhooks`, headers: { 'x-api-key': stack.key.key } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    if (body.pagination.total >= count) return body.data;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function headersOf(h: Record<string, unknown>): Record<string, string> {
  return { 'webhook-id': String(h['webhook-id']), 'webhook-timestamp': String(h['webhook-timestamp']), 'webhook-signature': String(h['webhook-signature']) };
}

describe('webhook delivery (private addresses allowed for the local receiver)', () => {
  let stack: Stack;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    stack = await startStack({ provider: 'gemini', env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' } });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it('retries 500, 500, then 200 with the same webhook-id; the final one verifies with standardwebhooks', async () => {
    receiver.script({ status: 500 }, { status: 500 });
    const res = await submit(stack, { prompt: 'a retried webhook', webhookUrl: `${receiver.url}/retry` });
    expect(res.statusCode).toBe(202);
    const id = res.json().data.id;
    const calls = await receiver.waitFor(3, '/retry');
    expect(calls).toHaveLength(3);
    const ids = new Set(calls.map((c) => c.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBe(webhookMessageId({ generationId: id, run: 0, event: 'generation.succeeded' }));

    const final = calls[2]!;
    const payload = new Webhook(await webhookSecret(stack)).verify(final.body, headersOf(final.headers)) as any;
    expect(payload.type).toBe('generation.succeeded');
    expect(payload.data).toMatchObject({ id, status: 'success' });
    expect(payload.data.outputImage.id).toBe(payload.data.outputImageId);
    expect(Object.keys(payload).sort()).toEqual(['data', 'timestamp', 'type']);

    const attempts = await attemptsOf(stack, id, 3);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.succeeded])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    expect(attempts.every((a) => a.webhookId === final.headers['webhook-id'] && a.event === 'generation.succeeded')).toBe(true);
    // A failing receiver never changes the generation.
    expect((await waitForTerminal(stack, id)).status).toBe('success');
  });

  it('treats a redirect as a failed attempt and never follows it', async () => {
    const redirecting = await startWebhookReceiver();
    try {
      redirecting.setFallback({ status: 302, headers: { location: `${receiver.url}/redirect-target` } });
      const res = await submit(stack, { prompt: 'redirected webhook', webhookUrl: `${redirecting.url}/hook` });
      const id = res.json().data.id;
      await redirecting.waitFor(2);
      const attempts = await attemptsOf(stack, id, 2);
      expect(attempts[0]).toMatchObject({ attempt: 1, statusCode: 302, succeeded: false, error: expect.stringMatching(/redirect/) });
      expect(attempts[1]).toMatchObject({ attempt: 2, statusCode: 302, succeeded: false });
      expect(receiver.received.filter((r) => r.path === '/redirect-target')).toHaveLength(0);
    } finally {
      await redirecting.close();
    }
  });

  it('sends generation.failed to the project default URL when the generation has none', async () => {
    const put = await stack.app.inject({
      method: 'PUT',
      url: '/api/v1/project',
      headers: { 'x-api-key': stack.key.key },
      payload: { webhookUrl: `${receiver.url}/project-default` },
    });
    expect(put.statusCode).toBe(200);
    stack.fake!.script({ kind: 'error', status: 400, message: 'bad request' });
    const res = await submit(stack, { prompt: 'this one fails', autoEnhance: false });
    const id = res.json().data.id;
    const [call] = await receiver.waitFor(1, '/project-default');
    const payload = new Webhook(await webhookSecret(stack)).verify(call!.body, headersOf(call!.headers)) as any;
    expect(payload.type).toBe('generation.failed');
    expect(payload.data).toMatchObject({ id, status: 'failed', error: { code: 'PROVIDER_REJECTED' } });
    await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload: { webhookUrl: null } });
  });

  it('signs with the rotated secret only after POST /project/secrets/rotate with graceSeconds 0', async () => {
    const before = await webhookSecret(stack);
    const rotated = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/project/secrets/rotate',
      headers: { 'x-api-key': stack.key.key },
      payload: { secret: 'webhook', graceSeconds: 0 },
    });
    expect(rotated.json().data.secrets.webhook.previousSecretExpiresAt).toBeNull();
    const after = rotated.json().data.webhookSecret;
    expect(after).toMatch(/^whsec_/);
    expect(after).not.toBe(before);
    const res = await submit(stack, { prompt: 'after rotation', webhookUrl: `${receiver.url}/rotated` });
    const [call] = await receiver.waitFor(1, '/rotated');
    expect((new Webhook(after).verify(call!.body, headersOf(call!.headers)) as any).data.id).toBe(res.json().data.id);
    expect(() => new Webhook(before).verify(call!.body, headersOf(call!.headers))).toThrow();
    expect(String(call!.headers['webhook-signature']).split(' ')).toHaveLength(1);
  });

  it('never sends a second success for the same message, however often the job runs', async () => {
    const res = await submit(stack, { prompt: 'delivered once', webhookUrl: `${receiver.url}/once` });
    const id = res.json().data.id;
    await receiver.waitFor(1, '/once');
    await attemptsOf(stack, id, 1);
    const deps = { db: stack.db, clock: systemClock, logger: silent, publicBaseUrl: stack.config.publicBaseUrl, allowPrivate: true };
    const job = { generationId: id, run: 0, event: 'generation.succeeded' as const };
    expect(await deliverWebhook(deps, job, 2)).toBe('delivered');
    expect(await deliverWebhook(deps, job, 3)).toBe('delivered');
    expect(receiver.received.filter((r) => r.path === '/once')).toHaveLength(1);
    expect(await attemptsOf(stack, id, 1)).toHaveLength(1);
  });

  it('streams status events over SSE and cancels a processing generation, discarding its result', async () => {
    await stack.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
    // Long enough for the stream to see `processing` and cancel, even on a loaded machine.
    stack.fake!.script({ kind: 'image', delayMs: 4000 });
    const res = await submit(stack, { prompt: 'cancel me while processing', autoEnhance: false, webhookUrl: `${receiver.url}/cancelled` });
    const id = res.json().data.id;

    const stream = await fetch(`${base}/api/v1/generations/${id}/events`, { headers: { 'x-api-key': stack.key.key } });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const statuses: string[] = [];
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let cancelled: Promise<unknown> | undefined;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const g = JSON.parse(data.slice(6));
        expect(g.id).toBe(id);
        statuses.push(g.status);
        if (g.status === 'processing' && !cancelled) {
          cancelled = stack.app.inject({ method: 'POST', url: `/api/v1/generations/${id}/cancel`, headers: { 'x-api-key': stack.key.key } });
        }
      }
    }
    expect(statuses.at(-1)).toBe('cancelled');
    expect(statuses).toContain('processing');
    expect(((await cancelled) as any).statusCode).toBe(200);

    const [call] = await receiver.waitFor(1, '/cancelled');
    expect(JSON.parse(call!.body)).toMatchObject({ type: 'generation.cancelled', data: { id, status: 'cancelled' } });
    // The worker finishes the model call, finds the row cancelled, and stores nothing.
    const imageCall = () => stack.fake!.requests.filter((r) => r.text.includes('cancel me while processing'));
    while (imageCall().length === 0) await new Promise((r) => setTimeout(r, 20));
    const final = await waitForTerminal(stack, id);
    expect(final).toMatchObject({ status: 'cancelled', outputImageId: null });
    // The job ends as skipped (the worker saw the cancel) and nothing was written.
    const redis = createRedis(stack.config, 'producer');
    const queue = createGenerationQueue(redis, stack.config.queuePrefix, 1);
    try {
      const job = (await queue.getJob(generationJobId({ generationId: id, run: 0 })))!;
      while ((await job.getState()) !== 'completed') await new Promise((r) => setTimeout(r, 20));
      expect((await queue.getJob(job.id!))!.returnvalue).toBe('skipped');
    } finally {
      await queue.close();
      redis.disconnect();
    }
    const dir = stack.config.storage.driver === 'fs' ? stack.config.storage.dir : '';
    expect(existsSync(join(dir, final.projectId, outputImageIdFor(id)))).toBe(false);
    expect(await stack.db.selectFrom('images').select('id').where('generation_id', '=', id).execute()).toHaveLength(0);
    const again = await stack.app.inject({ method: 'POST', url: `/api/v1/generations/${id}/cancel`, headers: { 'x-api-key': stack.key.key } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('CONFLICT');
  });

  it('SSE of a terminal generation sends its status once and closes; unknown ids are 404', async () => {
    const res = await submit(stack, { prompt: 'already done' });
    const id = res.json().data.id;
    await waitForTerminal(stack, id);
    const sse = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}/events`, headers: { 'x-api-key': stack.key.key } });
    expect(sse.statusCode).toBe(200);
    const frames = sse.body.split('\n\n').filter((f) => f.includes('data: '));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toContain('event: status');
    expect(JSON.parse(frames[0]!.split('data: ')[1]!).status).toBe('success');
    for (const url of ['/api/v1/generations/00000000-0000-4000-8000-000000000000/events', '/api/v1/generations/nope/webhooks', '/api/v1/generations/nope/cancel']) {
      const r = await stack.app.inject({ method: url.endsWith('cancel') ? 'POST' : 'GET', url, headers: { 'x-api-key': stack.key.key } });
      expect(r.statusCode, url).toBe(404);
      expect(r.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'Generation not found' });
    }
  });

  it("another project's generation is 404 for cancel, events and webhooks", async () => {
    const res = await submit(stack, { prompt: 'mine' });
    const id = res.json().data.id;
    const other = await stack.createKey('acme', 'other');
    for (const [method, url] of [['POST', 'cancel'], ['GET', 'events'], ['GET', 'webhooks']] as const) {
      const r = await stack.app.inject({ method, url: `/api/v1/generations/${id}/${url}`, headers: { 'x-api-key': other.key } });
      expect(r.statusCode, url).toBe(404);
    }
  });
});

describe('SSRF guard (WEBHOOK_ALLOW_PRIVATE=false)', () => {
  let stack: Stack;
  let listener: TcpServer;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    listener = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
    stack = await startStack({ worker: false, env: { WEBHOOK_ALLOW_PRIVATE: 'false' } });
  });
  afterAll(async () => {
    await stack?.close();
    await new Promise((r) => listener.close(r));
  });

  const forms = (p: number) => [
    `http://127.0.0.1:${p}/hook`,
    `http://localhost:${p}/hook`,
    `http://10.1.2.3:${p}/hook`,
    `http://172.20.0.1:${p}/hook`,
    `http://192.168.0.10:${p}/hook`,
    `http://169.254.169.254/latest/meta-data/`,
    `http://[::1]:${p}/hook`,
    `http://[fc00::1]/hook`,
    `http://[fd00:ec2::254]/hook`,
    `http://[::ffff:127.0.0.1]:${p}/hook`,
    `http://[::127.0.0.1]:${p}/hook`,
    `http://[::7f00:1]:${p}/hook`,
    `http://[64:ff9b::7f00:1]:${p}/hook`,
    `http://2130706433:${p}/hook`,
    `http://0x7f000001:${p}/hook`,
    `http://0177.0.0.1:${p}/hook`,
  ];

  it('refuses every private address form at submit with 400 and stores nothing', async () => {
    for (const webhookUrl of forms(port)) {
      const res = await submit(stack, { prompt: 'ssrf', webhookUrl });
      expect(res.statusCode, webhookUrl).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
      expect(res.json().error.message).toMatch(/private|loopback/);
    }
    expect(await stack.db.selectFrom('generations').select('id').execute()).toHaveLength(0);
    expect(connections).toBe(0);
  });

  it('refuses a private project default webhookUrl too, and keeps the setting unchanged', async () => {
    for (const webhookUrl of [`http://127.0.0.1:${port}/hook`, 'http://[::ffff:169.254.169.254]/x', 'http://[::169.254.169.254]/x']) {
      const res = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload: { webhookUrl } });
      expect(res.statusCode, webhookUrl).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } });
    expect(project.json().data.settings.webhookUrl ?? null).toBeNull();
  });

  it('refuses again at delivery (a URL stored before, or a project default) and never connects', async () => {
    const res = await submit(stack, { prompt: 'stored with a public url', webhookUrl: 'https://93.184.215.14/hook' });
    expect(res.statusCode).toBe(202);
    const id = res.json().data.id;
    await stack.db.updateTable('generations').set({ status: 'success', webhook_url: `http://0x7f000001:${port}/hook` }).where('id', '=', id).execute();
    const deps = { db: stack.db, clock: systemClock, logger: silent, publicBaseUrl: stack.config.publicBaseUrl, allowPrivate: false };
    expect(await deliverWebhook(deps, { generationId: id, run: 0, event: 'generation.succeeded' }, 1)).toBe('refused');
    const attempts = await attemptsOf(stack, id, 1);
    expect(attempts[0]).toMatchObject({ attempt: 1, statusCode: null, succeeded: false, error: expect.stringMatching(/private/) });
    expect(connections).toBe(0);
  });

  it('refuses an IPv4-compatible IPv6 URL (::/96) stored before, at delivery', async () => {
    const res = await submit(stack, { prompt: 'stored with a public url too', webhookUrl: 'https://93.184.215.14/hook' });
    expect(res.statusCode).toBe(202);
    const id = res.json().data.id;
    await stack.db.updateTable('generations').set({ status: 'success', webhook_url: `http://[::127.0.0.1]:${port}/hook` }).where('id', '=', id).execute();
    const deps = { db: stack.db, clock: systemClock, logger: silent, publicBaseUrl: stack.config.publicBaseUrl, allowPrivate: false };
    expect(await deliverWebhook(deps, { generationId: id, run: 0, event: 'generation.succeeded' }, 1)).toBe('refused');
    expect(connections).toBe(0);
  });
});
