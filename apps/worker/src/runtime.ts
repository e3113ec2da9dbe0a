import type { Config } from '@banatie/config';
import { systemClock, type ImageProvider, type ObjectStorage, type ProcessorDeps } from '@banatie/core';
import { createDb } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { createImageProvider } from '@banatie/providers';
import { GENERATION_QUEUE, createGenerationNotifier, createRedis, type GenerationJobData } from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import { Worker } from 'bullmq';
import { createGenerateImageHandler, onGenerationJobFailed } from './jobs/generate-image.job.js';

export interface WorkerRuntime {
  worker: Worker<GenerationJobData>;
  /** Stops taking jobs, waits for the ones in flight (up to deadlineMs), closes connections. */
  close(deadlineMs?: number): Promise<boolean>;
}

/** Wires the generation worker from configuration; `overrides` lets tests inject adapters. */
export async function startWorkerRuntime(
  config: Config,
  logger: Logger,
  overrides: { storage?: ObjectStorage; imageProvider?: ImageProvider } = {},
): Promise<WorkerRuntime> {
  const db = createDb(config.databaseUrl, {
    max: Math.min(config.worker.concurrency + 2, 50),
    onError: (err) => logger.warn({ err }, 'postgres pool error'),
  });
  const storage = overrides.storage ?? createObjectStorage(config.storage);
  await storage.init();
  const publisher = createRedis(config.redisUrl, 'producer');
  publisher.on('error', (err) => logger.warn({ err: err.message }, 'redis publisher error'));

  const deps: ProcessorDeps = {
    db,
    storage,
    imageProvider: overrides.imageProvider ?? createImageProvider({ provider: config.imageProvider, gemini: config.gemini }),
    clock: systemClock,
    logger,
    onStatusChange: createGenerationNotifier({ redis: publisher, prefix: config.queuePrefix }),
  };

  const connection = createRedis(config.redisUrl, 'worker');
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis worker connection error'));
  const worker: Worker<GenerationJobData> = new Worker<GenerationJobData>(
    GENERATION_QUEUE,
    createGenerateImageHandler(deps, () => worker),
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.worker.concurrency,
      lockDuration: config.worker.lockMs,
      maxStalledCount: 1,
    },
  );
  worker.on('failed', (job, err) => {
    onGenerationJobFailed(deps, job, err).catch((e) => logger.error({ err: e }, 'could not settle a failed job'));
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
  await worker.waitUntilReady();
  logger.info({ concurrency: config.worker.concurrency, provider: deps.imageProvider.name }, 'worker ready');

  return {
    worker,
    close: async (deadlineMs = 5 * 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        worker.close().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
      ]);
      clearTimeout(timer);
      connection.disconnect();
      publisher.disconnect();
      await db.destroy();
      return finished;
    },
  };
}
