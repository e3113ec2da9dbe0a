import type { Logger } from '@banatie/logger';
import type { ConcurrencySlots, GenerationJobData, GenerationQueue } from '@banatie/queue';
import { DelayedError, Job } from 'bullmq';

/** Gives the slot back (and wakes a waiting job of the project); never rejects. */
export type LeaveSlot = () => Promise<void>;

export interface ProjectGate {
  /**
   * Takes one of the job's project's `maxConcurrency` slots. When all are taken the job
   * waits (delayed, no attempt counted) until a release wakes it: throws DelayedError.
   */
  enter(job: Job<GenerationJobData>, token: string | undefined): Promise<LeaveSlot>;
  /** The queue gave up on the job outside its handler (stalled out): free its slot now rather than when its lease ends. */
  forget(job: Job<GenerationJobData>): Promise<void>;
}

const NOTHING_HELD: LeaveSlot = async () => undefined;
/** Waking skips jobs that are gone or already back in the queue; this bounds how many it looks at per release. */
const MAX_WAKE_TRIES = 5;

export function createProjectGate(opts: {
  slots: ConcurrencySlots;
  /** The project's `maxConcurrency`; null: unlimited (no Redis call at all). */
  maxConcurrencyOf: (projectId: string) => Promise<number | null>;
  queue: GenerationQueue;
  /** A waiting job looks again after this long even if no release woke it (a slot freed by an expired lease). */
  recheckMs: number;
  logger: Logger;
}): ProjectGate {
  const { slots, queue, logger } = opts;

  /** Promotes waiting jobs while a slot is free, starting from `first` (popped already); skips jobs that are gone. */
  const wake = async (projectId: string, first: string | null, max: number): Promise<void> => {
    for (let i = 0, next = first; next && i < MAX_WAKE_TRIES; i++) {
      if (await promote(queue, next)) return;
      next = await slots.release(projectId, '', max);
    }
  };
  const wakeNext = async (projectId: string, jobId: string, max: number): Promise<void> => wake(projectId, await slots.release(projectId, jobId, max), max);

  return {
    enter: async (job, token) => {
      const projectId = job.data.projectId;
      if (!projectId || !job.id) return NOTHING_HELD;
      const max = await opts.maxConcurrencyOf(projectId);
      if (max === null) return NOTHING_HELD;
      const jobId = job.id;
      if (await slots.acquire(projectId, jobId, max)) {
        return () => wakeNext(projectId, jobId, max).catch((err) => logger.warn({ err, projectId }, 'could not release a concurrency slot'));
      }
      // Delayed first, then on the waiting set: whoever pops it can promote it. A slot freed since the acquire is seen by park.
      await job.moveToDelayed(Date.now() + opts.recheckMs, token);
      await slots
        .park(projectId, jobId, max)
        .then((next) => wake(projectId, next, max))
        .catch((err) => logger.warn({ err, projectId }, 'could not wait for a concurrency slot'));
      throw new DelayedError();
    },

    forget: async (job) => {
      const projectId = job.data.projectId;
      if (!projectId || !job.id) return;
      const max = await opts.maxConcurrencyOf(projectId);
      if (max !== null) await wakeNext(projectId, job.id, max);
    },
  };
}

/** Moves a delayed job to the queue now; false when it is gone or not delayed. */
async function promote(queue: GenerationQueue, jobId: string): Promise<boolean> {
  const job = await Job.fromId<GenerationJobData>(queue, jobId);
  if (!job) return false;
  return job.promote().then(
    () => true,
    () => false,
  );
}

/** A project's `maxConcurrency`, read at most once per `ttlMs` per project and process. */
export function cachedMaxConcurrency(read: (projectId: string) => Promise<number | null | undefined>, ttlMs: number, maxEntries = 10_000) {
  const cache = new Map<string, { value: number | null; until: number }>();
  return async (projectId: string): Promise<number | null> => {
    const now = Date.now();
    const hit = cache.get(projectId);
    if (hit && hit.until > now) return hit.value;
    const value = (await read(projectId)) ?? null;
    if (cache.size >= maxEntries) cache.clear();
    cache.set(projectId, { value, until: now + ttlMs });
    return value;
  };
}
