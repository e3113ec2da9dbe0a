// Workers killed and stopped for real: the compiled API and worker processes,
// the fake Gemini server process, PostgreSQL, Redis and fs storage.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startApi, startWorker, stopAll, submitGeneration, waitForTerminal, type ApiProcess } from '../helpers/processes.js';
import { startChaosWorld, storedObjects, untilGeminiCalled, type ChaosWorld } from './setup.js';

let world: ChaosWorld;
let api: ApiProcess;

beforeAll(async () => {
  world = await startChaosWorld();
  api = await startApi(world.env);
});

afterAll(async () => {
  await stopAll();
  await world?.close();
});

async function secret(): Promise<string> {
  const res = await fetch(`${api.url}/api/v1/project`, { headers: { 'x-api-key': world.key } });
  return ((await res.json()) as { data: { webhookSecret: string } }).data.webhookSecret;
}

describe('worker crash and shutdown', () => {
  it('SIGKILL of the only worker mid-generation: a new worker finishes it exactly once', async () => {
    const first = await startWorker(world.env);
    // The first model call hangs (the worker dies inside it); the rerun gets an image at once.
    await world.fake.script([{ kind: 'image', delayMs: 120_000 }]);
    const prompt = 'killed mid generation';
    const r = await submitGeneration(api.url, world.key, { prompt, autoEnhance: false, webhookUrl: `${world.receiver.url}/killed` });
    expect(r.status).toBe(202);
    const id = r.body.data.id;
    await untilGeminiCalled(world.fake, prompt);
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');

    const second = await startWorker(world.env);
    const done = await waitForTerminal(api.url, world.key, id, { timeoutMs: 60_000 });
    expect(done.status).toBe('success');
    expect(done.error).toBeNull();
    const [hook] = await world.receiver.waitFor(1, '/killed');

    // Stop the worker so nothing is still in flight, then count.
    expect((await second.stop('SIGTERM', 20_000)).code).toBe(0);
    const calls = (await world.fake.requests()).filter((c) => c.model.includes('image') && c.text.includes(prompt));
    expect(calls).toHaveLength(2);
    expect(await storedObjects(world)).toEqual([done.outputImageId]);
    const images = await world.database.db.selectFrom('images').select(sql<string>`count(*)`.as('n')).where('generation_id', '=', id).executeTakeFirstOrThrow();
    expect(Number(images.n)).toBe(1);
    const hooks = world.receiver.received.filter((c) => c.path === '/killed');
    expect(hooks).toHaveLength(1);
    const payload = new Webhook(await secret()).verify(hook!.body, {
      'webhook-id': String(hook!.headers['webhook-id']),
      'webhook-timestamp': String(hook!.headers['webhook-timestamp']),
      'webhook-signature': String(hook!.headers['webhook-signature']),
    }) as { type: string; data: { id: string; status: string } };
    expect(payload).toMatchObject({ type: 'generation.succeeded', data: { id, status: 'success' } });
    const succeeded = await world.database.db
      .selectFrom('webhook_deliveries')
      .select(['webhook_id', 'succeeded'])
      .where('generation_id', '=', id)
      .where('succeeded', '=', true)
      .execute();
    expect(succeeded).toHaveLength(1);
  });

  it('SSE on another API instance streams the changes of a generation submitted elsewhere, then closes', async () => {
    const other = await startApi(world.env);
    const worker = await startWorker(world.env);
    await world.fake.script([{ kind: 'image', delayMs: 3000 }]);
    const r = await submitGeneration(api.url, world.key, { prompt: 'streamed across instances', autoEnhance: false });
    const res = await fetch(`${other.url}/api/v1/generations/${r.body.data.id}/events`, { headers: { 'x-api-key': world.key } });
    expect(res.status).toBe(200);
    // The body ends when the server closes the stream after the terminal event.
    const text = await res.text();
    const statuses = text
      .split('\n\n')
      .map((frame) => frame.split('\n').find((l) => l.startsWith('data: ')))
      .filter((l): l is string => l !== undefined)
      .map((l) => (JSON.parse(l.slice(6)) as { status: string }).status);
    expect(statuses.at(-1)).toBe('success');
    expect(statuses).toContain('processing');
    expect(new Set(statuses).size).toBe(statuses.length);
    await Promise.all([other.stop(), worker.stop('SIGTERM', 20_000)]);
  });

  it('SIGTERM mid-generation: the worker finishes that job, takes no new one, and exits 0', async () => {
    let stopping!: () => void;
    const announced = new Promise<void>((resolve) => (stopping = resolve));
    const worker = await startWorker(world.env);
    worker.proc.stdout!.on('data', (chunk: Buffer | string) => {
      if (String(chunk).includes('finishing jobs in flight')) stopping();
    });
    await world.fake.script([{ kind: 'image', delayMs: 3000 }]);
    const slow = await submitGeneration(api.url, world.key, { prompt: 'slow one during shutdown', autoEnhance: false });
    await untilGeminiCalled(world.fake, 'slow one during shutdown');
    worker.proc.kill('SIGTERM');
    await announced;
    const late = await submitGeneration(api.url, world.key, { prompt: 'submitted after SIGTERM', autoEnhance: false });
    expect(late.status).toBe(202);

    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const slowNow = await fetch(`${api.url}/api/v1/generations/${slow.body.data.id}`, { headers: { 'x-api-key': world.key } });
    expect(((await slowNow.json()) as { data: { status: string } }).data.status).toBe('success');
    const lateNow = await fetch(`${api.url}/api/v1/generations/${late.body.data.id}`, { headers: { 'x-api-key': world.key } });
    expect(((await lateNow.json()) as { data: { status: string } }).data.status).toBe('pending');
    expect((await world.fake.requests()).some((c) => c.text.includes('submitted after SIGTERM'))).toBe(false);

    // The next worker picks it up.
    await startWorker(world.env);
    expect((await waitForTerminal(api.url, world.key, late.body.data.id)).status).toBe('success');
  });
});
