import type { CreatedKey, GenerateImageRequest, ImageProvider } from '@banatie/core';
import { limitsRepository } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import { LocalImageProvider } from '@banatie/providers';
import { GENERATION_QUEUE, INTERACTIVE_HEAD_START, createRedis, fairPriority, waitForRedis } from '@banatie/queue';
import { TEST_REDIS_URL, testQueuePrefix } from '@banatie/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/runtime.js';
import { startStack, waitForTerminal, type Stack } from './harness.js';

const logger = createLogger({ level: 'silent' });

/** The local provider, recording which prompts start (in order) and how many of each project run at once. */
function recordingProvider(delayMs: number) {
  const local = new LocalImageProvider({ delayMs });
  const starts: string[] = [];
  const running = new Map<string, number>();
  const peak = new Map<string, number>();
  const provider: ImageProvider = {
    name: 'local',
    models: local.models,
    enhancePrompt: (req) => local.enhancePrompt(req),
    generateImage: async (req: GenerateImageRequest) => {
      const project = req.prompt.split('-')[0]!;
      starts.push(req.prompt);
      running.set(project, (running.get(project) ?? 0) + 1);
      peak.set(project, Math.max(peak.get(project) ?? 0, running.get(project)!));
      try {
        return await local.generateImage(req);
      } finally {
        running.set(project, running.get(project)! - 1);
      }
    },
  };
  return { provider, starts, peak };
}

describe('fair tags', () => {
  it('grow while the queue holds work, and start level at the highest tag so far once it is empty', async () => {
    const redis = createRedis({ redisUrl: TEST_REDIS_URL }, 'producer');
    try {
      await waitForRedis(redis, 5000);
      const prefix = testQueuePrefix();
      const project = '00000000-0000-4000-8000-00000000000a';
      const other = '00000000-0000-4000-8000-00000000000b';
      const plain = (tag: number) => 2 * (tag + INTERACTIVE_HEAD_START) + 1;
      // An empty queue: the first submit finds it idle; the next (its job not added yet) counts on.
      expect(await fairPriority(redis, prefix, project, false)).toEqual({ priority: plain(1), ahead: 0 });
      expect(await fairPriority(redis, prefix, project, false)).toEqual({ priority: plain(2), ahead: 0 });
      // A job runs (BullMQ's active list): V stays, the project's tags grow.
      await redis.lpush(`${prefix}:${GENERATION_QUEUE}:active`, 'some-job');
      expect((await fairPriority(redis, prefix, project, false)).priority).toBe(plain(3));
      expect((await fairPriority(redis, prefix, project, false)).priority).toBe(plain(4));
      // Another project starts at V + 1 (no job was ever queued: V is 0), ahead of the first one's later tags.
      expect((await fairPriority(redis, prefix, other, false)).priority).toBe(plain(1));
      // Interactive lane: its own tags from V, priority 2 × tag: ahead of the project's plain jobs.
      expect((await fairPriority(redis, prefix, project, true)).priority).toBe(2);
      expect((await fairPriority(redis, prefix, project, true)).priority).toBe(4);
      // Empty again: every tag is history; both projects start level, after the highest tag given (4).
      await redis.del(`${prefix}:${GENERATION_QUEUE}:active`);
      expect((await fairPriority(redis, prefix, other, false)).priority).toBe(plain(5));
      await redis.lpush(`${prefix}:${GENERATION_QUEUE}:active`, 'another-job');
      expect((await fairPriority(redis, prefix, project, false)).priority).toBe(plain(5));
    } finally {
      redis.disconnect();
    }
  });
});

describe('fair scheduling between projects (SPEC §12)', () => {
  let stack: Stack;
  let other: CreatedKey;
  const runtimes: WorkerRuntime[] = [];
  const startWorker = async (provider: ImageProvider, concurrency: number) => {
    const config = { ...stack.config, worker: { ...stack.config.worker, concurrency } };
    const runtime = await startWorkerRuntime(config, logger, { imageProvider: provider });
    runtimes.push(runtime);
    return runtime;
  };

  beforeAll(async () => {
    stack = await startStack({ worker: false, env: { WORKER_LOCK_MS: '5000', LIVE_WAIT_TIMEOUT_MS: '500', LIVE_MISS_PER_IP_PER_HOUR: '0' } });
    other = await stack.createKey('acme', 'other');
  });
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close(10_000);
  });
  afterAll(async () => stack?.close());

  const submit = async (key: CreatedKey, prompt: string, headers: Record<string, string> = {}) => {
    const res = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/generations',
      headers: { 'x-api-key': key.key, ...headers },
      payload: { prompt, autoEnhance: false },
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().data as { id: string; queuePosition: number | null };
  };
  const positionOf = async (key: CreatedKey, id: string) =>
    (await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key } })).json().data.queuePosition;

  it('queuePosition follows the fair order; interactive work goes ahead of its project\'s plain submits', async () => {
    const a1 = await submit(stack.key, 'A-1');
    const a2 = await submit(stack.key, 'A-2');
    const b1 = await submit(other, 'B-1');
    const a3 = await submit(stack.key, 'A-3');
    // A's backlog has tags 1, 2, 3; B was idle, so its job comes right after A's head (the tie goes to the earlier job).
    expect([a1, a2, b1, a3].map((g) => g.queuePosition)).toEqual([0, 1, 2, 3]);
    // Prefer: wait and live MISSes are interactive: ahead of everything A queued (no worker runs: the waits end unanswered).
    const interactive = await submit(stack.key, 'A-interactive', { prefer: 'wait=1' });
    expect(interactive.queuePosition).toBe(0);
    const miss = await stack.app.inject({ method: 'GET', url: `/cdn/acme/site/live/hero?prompt=A-live&autoEnhance=false` });
    expect(miss.statusCode).toBe(504);
    const liveRow = await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', 'A-live').executeTakeFirstOrThrow();
    const live = { id: liveRow.id, queuePosition: null };
    const order = [interactive, live, a1, a2, b1, a3];
    const positions = await Promise.all(order.map((g) => positionOf(g === b1 ? other : stack.key, g.id)));
    expect(positions).toEqual([0, 1, 2, 3, 4, 5]);

    const { provider, starts } = recordingProvider(0);
    await startWorker(provider, 1);
    const done = await Promise.all(order.map((g) => waitForTerminal(stack, g.id, g === b1 ? other.key : stack.key.key)));
    expect(done.map((g) => g.status)).toEqual(Array(6).fill('success'));
    expect(done.map((g) => g.queuePosition)).toEqual(Array(6).fill(null));
    expect(starts).toEqual(['A-interactive', 'A-live', 'A-1', 'A-2', 'B-1', 'A-3']);
  });

  it("B's single job starts within about one job while A has a backlog of hundreds, and A's jobs all finish", async () => {
    const { provider, starts } = recordingProvider(5);
    await startWorker(provider, 2);
    const backlog: string[] = [];
    for (let i = 0; i < 120; i++) backlog.push((await submit(stack.key, `A-backlog-${i}`)).id);
    const b = await submit(other, 'B-single');
    const startedWhenBQueued = starts.length;
    expect(startedWhenBQueued).toBeLessThan(100); // A's backlog is still there when B submits
    // Placed right behind A's head job and its tie, whatever A's backlog.
    expect(b.queuePosition).toBeLessThanOrEqual(2);
    const doneB = await waitForTerminal(stack, b.id, other.key);
    expect(doneB.status).toBe('success');
    // Started after B was queued and before B: the jobs ahead of it, plus those the two slots had already taken.
    expect(starts.indexOf('B-single') - startedWhenBQueued).toBeLessThanOrEqual(b.queuePosition! + 2);
    const doneA = await Promise.all(backlog.map((id) => waitForTerminal(stack, id)));
    expect(doneA.filter((g) => g.status === 'success')).toHaveLength(120);
  });

  it('maxConcurrency holds across two worker processes; other projects are not held back by it', async () => {
    await limitsRepository.upsertLimits(stack.db, stack.key.projectId, { maxConcurrency: 2 }, new Date());
    const { provider, starts, peak } = recordingProvider(30);
    await startWorker(provider, 3);
    await startWorker(provider, 3);
    const ids: Array<[CreatedKey, string]> = [];
    for (let i = 0; i < 12; i++) ids.push([stack.key, (await submit(stack.key, `A-limited-${i}`)).id]);
    for (let i = 0; i < 3; i++) ids.push([other, (await submit(other, `B-free-${i}`)).id]);
    const done = await Promise.all(ids.map(([key, id]) => waitForTerminal(stack, id, key.key)));
    expect(done.every((g) => g.status === 'success' && g.attempts === 1)).toBe(true);
    expect(peak.get('A')).toBe(2);
    expect(starts.filter((p) => p.startsWith('A-limited'))).toHaveLength(12);
    // B's jobs did not wait for A's: they started before A's last.
    expect(starts.indexOf('B-free-2')).toBeLessThan(starts.indexOf('A-limited-11'));
    await limitsRepository.upsertLimits(stack.db, stack.key.projectId, { maxConcurrency: null }, new Date());
  });
});
