// Crash takeover (SPEC §14): a worker SIGKILLed mid-generation has its job taken
// over by another, already running worker once the lock (5 s here) expires, and
// a job survives two such crashes. Real processes: the compiled API and workers,
// the fake Gemini server, PostgreSQL, Redis and fs storage.
import { hostname } from 'node:os';
import { GENERATION_QUEUE, createRedis, generationJobId, type GenerationJobData, type RedisClient } from '@banatie/queue';
import { Queue, type Job } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApi, startWorker, stopAll, submitGeneration, waitForTerminal, type ApiProcess, type ManagedProcess } from '../helpers/processes.js';
import { startChaosWorld, storedObjects, type ChaosWorld } from './setup.js';

const LOCK_MS = 5000;
// A bound for a loaded two-core machine, far above the takeover SPEC §14 asks for (LOCK_MS + 5 s).
const TAKEOVER_BOUND_MS = 60_000;
const HANGS = { kind: 'image', delayMs: 120_000 } as const;
// Several worker starts and takeovers, each bounded by TAKEOVER_BOUND_MS.
const TEST_TIMEOUT_MS = 240_000;

let world: ChaosWorld;
let api: ApiProcess;
let redis: RedisClient;
let queue: Queue<GenerationJobData>;
const workers: ManagedProcess[] = [];

beforeAll(async () => {
  world = await startChaosWorld({ env: { WORKER_LOCK_MS: String(LOCK_MS), WORKER_CONCURRENCY: '2' } });
  api = await startApi(world.env);
  redis = createRedis({ redisUrl: world.env.REDIS_URL! }, 'worker');
  queue = new Queue<GenerationJobData>(GENERATION_QUEUE, { connection: redis, prefix: world.env.QUEUE_PREFIX });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 20_000)));
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stopAll();
  await world?.close();
});

async function worker(): Promise<ManagedProcess> {
  const w = await startWorker(world.env);
  workers.push(w);
  return w;
}

/** The BullMQ worker name a process records on the jobs it takes (`processedBy`). */
function nameOf(w: ManagedProcess): string {
  return `${hostname()}:${w.proc.pid}`;
}

async function imageCalls(prompt: string): Promise<number> {
  return (await world.fake.requests()).filter((c) => c.model.includes('image') && c.text.includes(prompt)).length;
}

/** Resolves with the time it took once the fake Gemini server has seen `n` image calls for `prompt`. */
async function untilImageCalls(prompt: string, n: number): Promise<number> {
  const start = Date.now();
  while ((await imageCalls(prompt)) < n) {
    if (Date.now() - start > TAKEOVER_BOUND_MS) throw new Error(`${n} image calls for "${prompt}" not seen after ${TAKEOVER_BOUND_MS} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - start;
}

async function generationJob(id: string): Promise<Job<GenerationJobData>> {
  const row = await world.database.db.selectFrom('generations').select('run').where('id', '=', id).executeTakeFirstOrThrow();
  const job = await queue.getJob(generationJobId({ generationId: id, run: row.run }));
  if (!job) throw new Error(`no job for generation ${id}`);
  return job;
}

/** SIGKILLs the worker holding the job and returns how long until another one called the model again. */
async function killHolder(holder: ManagedProcess, prompt: string, callsSoFar: number): Promise<number> {
  const killed = await holder.stop('SIGKILL');
  expect(killed.signal).toBe('SIGKILL');
  return untilImageCalls(prompt, callsSoFar + 1);
}

/** One object, one image row, one success webhook for the generation. */
async function expectFinishedOnce(id: string, outputImageId: string | null, path: string, objectsBefore: string[]): Promise<void> {
  await world.receiver.waitFor(1, path);
  // Stop the workers so nothing is still in flight, then count.
  await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM', 20_000)));
  expect(await storedObjects(world)).toEqual(expect.arrayContaining([...objectsBefore, outputImageId]));
  expect(await storedObjects(world)).toHaveLength(objectsBefore.length + 1);
  const images = await world.database.db.selectFrom('images').select(sql<string>`count(*)`.as('n')).where('generation_id', '=', id).executeTakeFirstOrThrow();
  expect(Number(images.n)).toBe(1);
  const hooks = world.receiver.received.filter((c) => c.path === path);
  expect(hooks).toHaveLength(1);
  expect(JSON.parse(hooks[0]!.body)).toMatchObject({ type: 'generation.succeeded', data: { id, status: 'success' } });
}

describe('crash takeover with a 5 s lock', () => {
  it('SIGKILL mid-generation: a worker already running takes the job over and finishes it once', async () => {
    const objectsBefore = await storedObjects(world);
    const first = await worker();
    await world.fake.script([HANGS]);
    const prompt = 'taken over once';
    const r = await submitGeneration(api.url, world.key, { prompt, autoEnhance: false, webhookUrl: `${world.receiver.url}/once` });
    expect(r.status).toBe(202);
    const id = r.body.data.id;
    await untilImageCalls(prompt, 1);
    expect((await generationJob(id)).processedBy).toBe(nameOf(first));
    const second = await worker();

    const takeoverMs = await killHolder(first, prompt, 1);
    console.log(`takeover after SIGKILL: ${takeoverMs} ms (WORKER_LOCK_MS ${LOCK_MS})`);
    const done = await waitForTerminal(api.url, world.key, id, { timeoutMs: TAKEOVER_BOUND_MS });
    expect(done.status).toBe('success');

    // BullMQ's stalled check took it back (no failed attempt before it), and the second worker ran it.
    const job = await generationJob(id);
    expect(job.stalledCounter).toBe(1);
    expect(job.attemptsStarted).toBe(2);
    expect(job.processedBy).toBe(nameOf(second));
    expect(await imageCalls(prompt)).toBe(2);
    await expectFinishedOnce(id, done.outputImageId, '/once', objectsBefore);
  }, TEST_TIMEOUT_MS);

  it('the same job killed twice still succeeds', async () => {
    const objectsBefore = await storedObjects(world);
    const first = await worker();
    await world.fake.script([HANGS, HANGS]);
    const prompt = 'taken over twice';
    const r = await submitGeneration(api.url, world.key, { prompt, autoEnhance: false, webhookUrl: `${world.receiver.url}/twice` });
    const id = r.body.data.id;
    await untilImageCalls(prompt, 1);
    const second = await worker();
    const firstTakeoverMs = await killHolder(first, prompt, 1);
    expect((await generationJob(id)).processedBy).toBe(nameOf(second));
    const third = await worker();
    const secondTakeoverMs = await killHolder(second, prompt, 2);
    console.log(`takeovers after two SIGKILLs: ${firstTakeoverMs} ms, ${secondTakeoverMs} ms (WORKER_LOCK_MS ${LOCK_MS})`);

    const done = await waitForTerminal(api.url, world.key, id, { timeoutMs: TAKEOVER_BOUND_MS });
    expect(done.status).toBe('success');
    expect(done.error).toBeNull();
    const job = await generationJob(id);
    expect(job.stalledCounter).toBe(2);
    expect(job.attemptsStarted).toBe(3);
    expect(job.processedBy).toBe(nameOf(third));
    expect(await imageCalls(prompt)).toBe(3);
    await expectFinishedOnce(id, done.outputImageId, '/twice', objectsBefore);
  }, TEST_TIMEOUT_MS);
});
