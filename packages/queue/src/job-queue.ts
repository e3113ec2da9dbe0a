import type { GenerationJobState, GenerationRun, JobQueue } from '@banatie/core';
import type { RedisClient } from './redis.js';
import { queuePosition } from './fair-scheduler.js';
import { enqueueGeneration, generationJobId, hasStalledOut, isQueueConnected, type GenerationQueue } from './generation.queue.js';
import { enqueueWebhook, type WebhookQueue } from './webhook.queue.js';

/** States in which BullMQ itself still owns the job (an expired lock is its stalled check's business). */
const OWNED_STATES = new Set(['waiting', 'wait', 'delayed', 'prioritized', 'active', 'waiting-children']);
const WITHDRAW_TIMEOUT_MS = 2000;

/** The JobQueue port on BullMQ: the generation and webhook queues of this process. */
export function createJobQueue(queues: { generations: GenerationQueue; webhooks: WebhookQueue }): JobQueue {
  const { generations, webhooks } = queues;
  return {
    enqueueGeneration: ({ interactive, ...data }) => enqueueGeneration(generations, data, { interactive }),

    withdrawGeneration: async (run) => {
      if (!isQueueConnected(generations)) return;
      // A job a worker holds (locked) is not removed: it skips itself when it sees the row.
      const removal = generations.remove(generationJobId(run));
      removal.catch(() => undefined); // a rejection after the timeout won
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([removal, new Promise((resolve) => (timer = setTimeout(resolve, WITHDRAW_TIMEOUT_MS)))]);
      } finally {
        clearTimeout(timer);
      }
    },

    generationJobState: async (run: GenerationRun): Promise<GenerationJobState> => {
      const job = await generations.getJob(generationJobId(run));
      if (!job) return { kind: 'missing' };
      const state = await job.getState();
      if (OWNED_STATES.has(state)) return { kind: 'owned' };
      if (state === 'failed') return { kind: 'abandoned', stalledOut: hasStalledOut(job), reason: job.failedReason ?? null };
      return { kind: 'completed' };
    },

    requeueGeneration: async ({ interactive, ...data }) => {
      await generations.remove(generationJobId(data));
      await enqueueGeneration(generations, data, { interactive });
    },

    queuePositions: async (runs) => {
      const positions = new Map<string, number | null>(runs.map((r) => [r.generationId, null]));
      if (!runs.length || !isQueueConnected(generations)) return positions;
      const redis = generations.opts.connection as RedisClient;
      const prefix = generations.opts.prefix ?? 'bull';
      await Promise.all(
        runs.map(async (r) => {
          const position = await queuePosition(redis, prefix, generationJobId(r)).catch(() => null);
          positions.set(r.generationId, position);
        }),
      );
      return positions;
    },

    enqueueWebhook: (message) => enqueueWebhook(webhooks, message),
  };
}
