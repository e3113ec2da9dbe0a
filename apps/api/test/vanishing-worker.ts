import type { Config } from '@banatie/config';
import { GENERATION_QUEUE, MAX_STALLED_COUNT, createRedis, type GenerationJobData } from '@banatie/queue';
import { Worker, type Job } from 'bullmq';

/**
 * A generation worker whose processes keep dying mid-job, the way BullMQ sees a
 * crash: it takes a job and then neither renews its lock nor finishes it. With a
 * short lock and stalled check, BullMQ's own stalled check takes the job back,
 * and after more than MAX_STALLED_COUNT stalls fails it. Only jobs of `generationId` are taken.
 */
export function startVanishingWorker(
  config: Config,
  generationId: string,
  onFailed?: (job: Job<GenerationJobData> | undefined, err: Error) => void,
): { failed: Promise<Job<GenerationJobData>>; close(): Promise<void> } {
  const connection = createRedis(config, 'worker');
  const worker = new Worker<GenerationJobData>(
    GENERATION_QUEUE,
    async (job) => {
      if (job.data.generationId !== generationId) throw new Error('not this one');
      await new Promise(() => undefined); // gone: no progress, no lock renewal
    },
    {
      connection,
      prefix: config.queuePrefix,
      // Room to take the job again while the earlier takes still "run".
      concurrency: MAX_STALLED_COUNT + 2,
      skipLockRenewal: true,
      lockDuration: 300,
      stalledInterval: 300,
      maxStalledCount: MAX_STALLED_COUNT,
    },
  );
  const failed = new Promise<Job<GenerationJobData>>((resolve) =>
    worker.on('failed', (job, err) => {
      if (job?.data.generationId !== generationId) return;
      onFailed?.(job, err);
      resolve(job);
    }),
  );
  worker.on('error', () => undefined);
  return {
    failed,
    close: async () => {
      await worker.close(true);
      connection.disconnect();
    },
  };
}
