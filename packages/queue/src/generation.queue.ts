import { Queue, type Job, type JobsOptions } from 'bullmq';
import { waitForRedis, type RedisClient } from './redis.js';
import { z } from 'zod';
import { fairPriority } from './fair-scheduler.js';
import { GENERATION_QUEUE } from './queue-names.js';

export { GENERATION_QUEUE } from './queue-names.js';

/** Job data carries ids only; the row in PostgreSQL is the source of truth. */
export const generationJobSchema = z.object({
  generationId: z.uuid(),
  /** Regeneration counter: a job for an older run is ignored. */
  run: z.number().int().min(0),
  /** Whose share of the workers it uses (fairness, maxConcurrency); absent on jobs queued before issue 15. */
  projectId: z.uuid().optional(),
  /** The run's image model (provider quota is taken per model before the row is read); absent on older jobs: the default. */
  model: z.string().optional(),
});
export type GenerationJobData = z.infer<typeof generationJobSchema>;

export const GENERATION_BACKOFF_MS = 1000;

export function generationJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: GENERATION_BACKOFF_MS },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * How often a generation job may lose its worker (crash, hang) and be taken over
 * by BullMQ's stalled check; once more and BullMQ fails it (the workers' `maxStalledCount`).
 * SPEC §14: a job survives at least two crashes.
 */
export const MAX_STALLED_COUNT = 2;

/**
 * True for a job BullMQ gave up on because its workers kept disappearing: it
 * stalled more often than MAX_STALLED_COUNT allows (BullMQ's own counter, kept
 * on the job after it failed).
 */
export function hasStalledOut(job: Pick<Job, 'stalledCounter'>): boolean {
  return job.stalledCounter > MAX_STALLED_COUNT;
}

/** Deterministic, so a re-enqueue of the same run is a no-op. (BullMQ forbids ':' in ids.) */
export function generationJobId(data: GenerationJobData): string {
  return `${data.generationId}_r${data.run}`;
}

export type GenerationQueue = Queue<GenerationJobData>;

export function createGenerationQueue(connection: RedisClient, prefix: string, attempts: number): GenerationQueue {
  return new Queue<GenerationJobData>(GENERATION_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: generationJobOptions(attempts),
  });
}

export class QueueUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('Queue unavailable', { cause });
    this.name = 'QueueUnavailableError';
  }
}

/** False while the queue's Redis connection is down: callers fail fast instead of waiting for it. */
export function isQueueConnected(queue: Queue): boolean {
  return (queue.opts.connection as { status?: string }).status === 'ready';
}

/** How long a caller waits for a connection that is (re)connecting: covers start-up, stays well under 2 s. */
export const CONNECT_GRACE_MS = 1500;

/** Resolves when the queue's connection is ready; QueueUnavailableError if it is not within CONNECT_GRACE_MS. */
export async function untilQueueConnected(queue: Queue): Promise<void> {
  await waitForRedis(queue.opts.connection as RedisClient, CONNECT_GRACE_MS).catch(() => {
    throw new QueueUnavailableError();
  });
}

/**
 * Adds the job at its place in the fair order (when it names its project), failing
 * fast (never hanging) while Redis is unreachable: BullMQ would otherwise wait for the
 * connection. A late add after a timeout is harmless because the job id is
 * deterministic. Resolves with how many queued jobs are ahead of it (null: unknown).
 */
/**
 * Jobs waiting for a worker (fair scheduling keeps them in BullMQ's prioritized
 * set) and jobs running: what an autoscaler scales workers on.
 */
export async function queueDepth(queue: GenerationQueue): Promise<{ backlog: number; running: number }> {
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
  return { backlog: (counts.waiting ?? 0) + (counts.prioritized ?? 0), running: counts.active ?? 0 };
}

export async function enqueueGeneration(
  queue: GenerationQueue,
  data: GenerationJobData,
  opts: { interactive?: boolean; timeoutMs?: number } = {},
): Promise<number | null> {
  await untilQueueConnected(queue);
  let timer: NodeJS.Timeout | undefined;
  const add = async (): Promise<number | null> => {
    const place = data.projectId
      ? await fairPriority(queue.opts.connection as RedisClient, queue.opts.prefix ?? 'bull', data.projectId, opts.interactive ?? false)
      : undefined;
    await queue.add('generate-image', data, { jobId: generationJobId(data), priority: place?.priority });
    return place?.ahead ?? null;
  };
  try {
    return await Promise.race([
      add(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new QueueUnavailableError()), opts.timeoutMs ?? 2000))),
    ]);
  } catch (err) {
    throw err instanceof QueueUnavailableError ? err : new QueueUnavailableError(err);
  } finally {
    clearTimeout(timer);
  }
}
