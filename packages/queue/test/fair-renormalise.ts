// The renormalisation scenario of fair-scheduler.test.ts, shared with redis-cluster.test.ts.
import { Worker, type Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { INTERACTIVE_HEAD_START, fairPriority } from '../src/fair-scheduler.js';
import { GENERATION_QUEUE, createGenerationQueue, type GenerationJobData } from '../src/generation.queue.js';
import type { RedisClient } from '../src/redis.js';

export const PROJECT_A = '00000000-0000-4000-8000-00000000000a';
export const PROJECT_B = '00000000-0000-4000-8000-00000000000b';
/** A's backlog; the first TAKEN are taken by hand, so V (the head's tag) is TAKEN + 1 when B submits. */
export const BACKLOG = 30;
export const TAKEN = 20;

export interface RenormaliseOutcome {
  /** B's queuePosition at submit (jobs ahead of it). */
  bAhead: number;
  /** Right after B's submit: every prioritized job's priority from its zset score, and from its hash. */
  scorePriority: Map<string, number>;
  hashPriority: Map<string, number>;
  /** Hash priorities of the job parked in delayed and the one running, after B's submit. */
  delayedPriority: number;
  activePriority: number;
  /** Length of BullMQ's plain wait list after B's submit (a priority-0 job would land there). */
  waitLength: number;
  /** The per-project last tags (plain lane) and V after B's submit. */
  lastTags: Record<string, string>;
  v: string | null;
  /** Ids in the order a real Worker took them once everything was released. */
  order: string[];
  completed: number;
}

const key = (prefix: string, type: string) => `${prefix}:${GENERATION_QUEUE}:${type}`;

/**
 * A has a backlog of BACKLOG plain jobs; TAKEN − 2 are taken and completed, one is taken and
 * parked in delayed (as a maxConcurrency wait or a retry backoff does), one is left running.
 * Then B submits one plain job (with `renormaliseAt` tiny, this submit renormalises), the
 * parked job is promoted, the running one completes, and a real Worker drains the rest.
 */
export async function runRenormaliseScenario(
  producer: RedisClient,
  workerConnection: () => RedisClient,
  prefix: string,
  renormaliseAt: number,
): Promise<RenormaliseOutcome> {
  const queue = createGenerationQueue(producer, prefix, 1);
  const submit = async (project: string, id: string) => {
    const place = await fairPriority(producer, prefix, project, false, renormaliseAt);
    const data: GenerationJobData = { generationId: randomUUID(), run: 0, projectId: project };
    await queue.add('generate-image', data, { jobId: id, priority: place.priority });
    return place;
  };
  const byHand = new Worker<GenerationJobData>(GENERATION_QUEUE, null, { connection: workerConnection(), prefix });
  try {
    for (let i = 1; i <= BACKLOG; i++) await submit(PROJECT_A, `A${i}`);
    const take = async (): Promise<Job<GenerationJobData>> => {
      const job = await byHand.getNextJob('by-hand', { block: false });
      if (!job) throw new Error('no job to take');
      return job;
    };
    for (let i = 1; i <= TAKEN - 2; i++) await (await take()).moveToCompleted('ok', 'by-hand', false);
    const parked = await take();
    await parked.moveToDelayed(Date.now() + 3_600_000, 'by-hand');
    const running = await take();

    const b = await submit(PROJECT_B, 'B1');

    const scorePriority = new Map<string, number>();
    const hashPriority = new Map<string, number>();
    const scored = await producer.zrange(key(prefix, 'prioritized'), 0, -1, 'WITHSCORES');
    for (let i = 0; i < scored.length; i += 2) {
      const id = scored[i]!;
      scorePriority.set(id, Math.floor(Number(scored[i + 1]) / 2 ** 32));
      hashPriority.set(id, Number(await producer.hget(key(prefix, id), 'priority')));
    }
    const outcome = {
      bAhead: b.ahead,
      scorePriority,
      hashPriority,
      delayedPriority: Number(await producer.hget(key(prefix, parked.id!), 'priority')),
      activePriority: Number(await producer.hget(key(prefix, running.id!), 'priority')),
      waitLength: await producer.llen(key(prefix, 'wait')),
      lastTags: await producer.hgetall(`${prefix}:fair:last`),
      v: await producer.get(`${prefix}:fair:v`),
    };

    await parked.promote();
    await running.moveToCompleted('ok', 'by-hand', false);
    const order: string[] = [];
    let drained!: () => void;
    const allDone = new Promise<void>((resolve) => (drained = resolve));
    const remaining = BACKLOG + 1 - (TAKEN - 1);
    const worker = new Worker<GenerationJobData>(
      GENERATION_QUEUE,
      async (job) => {
        order.push(job.id!);
        if (order.length === remaining) drained();
      },
      { connection: workerConnection(), prefix, concurrency: 1 },
    );
    try {
      await allDone;
    } finally {
      await worker.close();
    }
    return { ...outcome, order, completed: await queue.getCompletedCount() };
  } finally {
    await byHand.close();
    await queue.close();
  }
}

/** Checks a renormalised run against the same run without renormalisation. */
export function expectRenormalisedLike(shifted: RenormaliseOutcome, reference: RenormaliseOutcome): void {
  // V was TAKEN + 1 (the head, A's job TAKEN + 1) when B submitted: every tag moves down by TAKEN.
  const delta = TAKEN;
  expect(reference.v).toBe(String(TAKEN + 1));
  expect(shifted.v).toBe('1');
  // B is still taken right after the head (its tag ties with A's next job, which came first).
  expect(shifted.bAhead).toBe(2);
  expect(shifted.bAhead).toBe(reference.bAhead);
  // Every queued job: same place, priority 2Δ lower (lane kept), zset score and hash agree.
  expect([...shifted.scorePriority.keys()]).toEqual([...reference.scorePriority.keys()]);
  for (const [id, priority] of reference.scorePriority) expect(shifted.scorePriority.get(id)).toBe(priority - 2 * delta);
  expect(shifted.hashPriority).toEqual(shifted.scorePriority);
  expect(reference.hashPriority).toEqual(reference.scorePriority);
  const plain = (tag: number) => 2 * (tag + INTERACTIVE_HEAD_START) + 1;
  expect(Math.max(...shifted.scorePriority.values())).toBe(plain(BACKLOG - delta));
  // The parked and the running job: their hashes (what a promotion or a retry re-adds them with) moved too.
  expect(shifted.delayedPriority).toBe(reference.delayedPriority - 2 * delta);
  expect(shifted.activePriority).toBe(reference.activePriority - 2 * delta);
  expect(shifted.waitLength).toBe(0);
  expect(shifted.lastTags).toEqual({ [PROJECT_A]: String(BACKLOG - delta), [PROJECT_B]: String(TAKEN + 2 - delta) });
  // A real Worker takes everything, in the same order, nothing lost.
  expect(shifted.order).toEqual(reference.order);
  expect(shifted.order.indexOf('B1')).toBe(shifted.order.indexOf(`A${TAKEN + 1}`) + 2);
  expect(shifted.completed).toBe(BACKLOG + 1);
}
