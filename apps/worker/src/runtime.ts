import type { Config } from '@banatie/config';
import {
  createStatusNotifier,
  isPriced,
  priceTable,
  systemClock,
  type ImageProvider,
  type ObjectStorage,
  type PriceTable,
  type ProcessorDeps,
} from '@banatie/core';
import { createDb, generationRepository } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import {
  createMetricsRegistry,
  generationMetrics,
  providerMetrics,
  startMetricsServer,
  usageMetrics,
  webhookMetrics,
  type HealthReport,
  type QueueDepth,
  type MetricsServer,
  type Registry,
} from '@banatie/metrics';
import { createImageProvider } from '@banatie/providers';
import {
  GENERATION_QUEUE,
  WEBHOOK_BACKOFF_TYPE,
  hasStalledOut,
  queueDepth,
  WEBHOOK_QUEUE,
  createGenerationQueue,
  createConcurrencySlots,
  createJobQueue,
  createProviderQuota,
  createRedis,
  createStatusBroadcast,
  createWebhookQueue,
  webhookRetryDelayMs,
  workerLockOptions,
  workerName,
  type GenerationJobData,
  type WebhookJobData,
} from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import { UnrecoverableError, Worker } from 'bullmq';
import { createDeliverWebhookHandler } from './jobs/deliver-webhook.job.js';
import { createGenerateImageHandler, onGenerationJobFailed } from './jobs/generate-image.job.js';
import { cachedMaxConcurrency, createProjectGate } from './jobs/project-gate.js';
import { providerBatchTickMs, startProviderBatchLoop, type ProviderBatchLoop } from './provider-batches.js';
import { startSweeper, type Sweeper } from './sweeper.js';

/** How long a worker trusts what it read of a project's maxConcurrency (the operator's change applies within it). */
const MAX_CONCURRENCY_CACHE_MS = 5000;

/** How long a stopping worker lets its jobs in flight finish (the Kubernetes grace period outlasts it). */
export const WORKER_SHUTDOWN_DEADLINE_MS = 5 * 60_000;

export interface WorkerRuntime {
  worker: Worker<GenerationJobData>;
  webhookWorker: Worker<WebhookJobData>;
  sweeper: Sweeper;
  /** The batch tier's loop; null when the provider has no batch API (batch tier then runs like standard). */
  providerBatches: ProviderBatchLoop | null;
  /** This process's Prometheus series (served on WORKER_METRICS_PORT unless it is 0). */
  metrics: Registry;
  /** The `/metrics` listener; null when disabled or when the port could not be bound. */
  metricsServer: MetricsServer | null;
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
    max: config.databasePoolMax ?? Math.min(config.worker.concurrency + 2, 50),
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    onError: (err) => logger.warn({ err }, 'postgres pool error'),
  });
  const storage = overrides.storage ?? createObjectStorage(config.storage);
  await storage.init();
  const publisher = createRedis(config, 'producer');
  publisher.on('error', (err) => logger.warn({ err: err.message }, 'redis publisher error'));
  const webhookQueue = createWebhookQueue(publisher, config.queuePrefix, config.webhook.retryBaseMs);
  webhookQueue.on('error', (err) => logger.warn({ err: err.message }, 'webhook queue error'));
  // The producer side of the generation queue: the sweeper re-enqueues through it.
  const generationQueue = createGenerationQueue(publisher, config.queuePrefix, config.worker.attempts);
  generationQueue.on('error', (err) => logger.warn({ err: err.message }, 'generation queue error'));
  const jobs = createJobQueue({ generations: generationQueue, webhooks: webhookQueue });

  const metrics = createMetricsRegistry();
  const countGeneration = generationMetrics(metrics);
  const webhookSeries = webhookMetrics(metrics);
  const prices = priceTable(config.pricing);
  warnUnpricedModels(prices, config, logger);
  const notifier = createStatusNotifier({ broadcast: createStatusBroadcast(publisher, config.queuePrefix), jobs, batches: { db, clock: systemClock } });
  const deps: ProcessorDeps = {
    db,
    storage,
    imageProvider:
      overrides.imageProvider ??
      createImageProvider({ provider: config.imageProvider, gemini: config.gemini, onCall: providerMetrics(metrics) }),
    clock: systemClock,
    logger,
    // The local provider has no quota of its own: only limits the operator named apply to it.
    quota:
      config.imageProvider === 'gemini' || Object.keys(config.providerRateLimits).length
        ? createProviderQuota(publisher, config.queuePrefix, config.providerRateLimits)
        : undefined,
    prices,
    onUsage: usageMetrics(metrics),
    // Every committed status change of this worker (processor, stalled jobs, sweeper) passes here once.
    onStatusChange: (row) => {
      countGeneration(row);
      return notifier(row);
    },
  };

  const gate = createProjectGate({
    // A slot outlives any run (the deadline ends it); a dead worker's slot comes back when its lease ends.
    slots: createConcurrencySlots(publisher, config.queuePrefix, config.generationDeadlineMs + config.worker.lockMs),
    maxConcurrencyOf: cachedMaxConcurrency((projectId) => generationRepository.findProjectMaxConcurrency(db, projectId), MAX_CONCURRENCY_CACHE_MS),
    queue: generationQueue,
    recheckMs: config.worker.lockMs,
    logger,
  });
  const connection = createRedis(config, 'worker');
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis worker connection error'));
  const worker: Worker<GenerationJobData> = new Worker<GenerationJobData>(
    GENERATION_QUEUE,
    createGenerateImageHandler(deps, gate),
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.worker.concurrency,
      ...workerLockOptions(config.worker.lockMs),
    },
  );
  worker.on('failed', (job, err) => {
    onGenerationJobFailed(deps, job, err).catch((e) => logger.error({ err: e }, 'could not settle a failed job'));
    if (job && hasStalledOut(job)) gate.forget(job).catch((e) => logger.warn({ err: e }, 'could not free the slot of a stalled job'));
  });
  worker.on('error', (err) => logger.warn({ err: err.message }, 'worker error'));
  await worker.waitUntilReady();

  const webhookConnection = createRedis(config, 'worker');
  webhookConnection.on('error', (err) => logger.warn({ err: err.message }, 'redis webhook connection error'));
  const webhookWorker = new Worker<WebhookJobData>(
    WEBHOOK_QUEUE,
    createDeliverWebhookHandler({
      db,
      clock: systemClock,
      logger,
      publicBaseUrl: config.publicBaseUrl,
      allowPrivate: config.webhook.allowPrivate,
      onAttempt: webhookSeries.attempt,
    }),
    {
      connection: webhookConnection,
      prefix: config.queuePrefix,
      concurrency: 16,
      ...workerLockOptions(config.worker.lockMs),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === WEBHOOK_BACKOFF_TYPE ? webhookRetryDelayMs(attemptsMade, config.webhook.retryBaseMs) : 0,
      },
    },
  );
  webhookWorker.on('error', (err) => logger.warn({ err: err.message }, 'webhook worker error'));
  webhookWorker.on('failed', (job, err) => {
    if (!job) return;
    if (err instanceof UnrecoverableError) webhookSeries.abandoned('refused');
    else if (job.attemptsMade >= (job.opts.attempts ?? 1)) webhookSeries.abandoned('exhausted');
  });
  await webhookWorker.waitUntilReady();

  const sweeper = startSweeper(
    { db, queue: jobs, clock: systemClock, logger, onStatusChange: deps.onStatusChange },
    {
      redis: publisher,
      prefix: config.queuePrefix,
      intervalMs: config.worker.sweepIntervalMs,
      staleAfterMs: Math.max(5000, Math.min(config.worker.sweepIntervalMs, 60_000)),
    },
  );
  const batchProvider = deps.imageProvider.batch;
  const providerBatches = batchProvider
    ? startProviderBatchLoop(
        {
          ...deps,
          batchProvider,
          ...config.gemini.batch,
          // A submit builds every request (prompt enhancement included) and uploads them: give it a few call timeouts.
          submitLeaseMs: Math.max(60_000, config.gemini.timeoutMs * 3),
        },
        providerBatchTickMs(config.gemini.batch),
      )
    : null;
  // Liveness: both job loops still run (BullMQ stops one only on close or a fatal error); closing counts as alive.
  let closing = false;
  const health = () => ({
    ok: closing || (worker.isRunning() && webhookWorker.isRunning()),
    detail: { generations: worker.isRunning() ? 'running' : 'stopped', webhooks: webhookWorker.isRunning() ? 'running' : 'stopped', redis: connection.status },
  });
  // KEDA scales workers on this (its redis scaler cannot read the prioritized set that fair scheduling fills).
  const metricsServer = await serveMetrics(metrics, config, logger, { health, queueDepth: () => queueDepth(generationQueue) });
  logger.info({ name: workerName(), concurrency: config.worker.concurrency, provider: deps.imageProvider.name, metricsPort: metricsServer?.port ?? null }, 'worker ready');

  return {
    worker,
    webhookWorker,
    sweeper,
    providerBatches,
    metrics,
    metricsServer,
    close: async (deadlineMs = WORKER_SHUTDOWN_DEADLINE_MS) => {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      await sweeper.stop();
      await providerBatches?.stop();
      const finished = await Promise.race([
        Promise.all([worker.close(), webhookWorker.close()]).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs))),
      ]);
      clearTimeout(timer);
      connection.disconnect();
      webhookConnection.disconnect();
      publisher.disconnect();
      await db.destroy();
      await metricsServer?.close();
      return finished;
    },
  };
}

/** A model without a price is recorded at cost 0: say so once at start, not per call. */
function warnUnpricedModels(prices: PriceTable, config: Config, logger: Logger): void {
  if (config.imageProvider !== 'gemini') return;
  for (const model of [config.gemini.imageModel, config.gemini.textModel]) {
    if (!isPriced(prices, model)) logger.warn({ model }, 'no price for this model: its calls are recorded with cost 0; add it to PRICING_FILE');
  }
}

/**
 * Serves /metrics, /health and /queue-depth on HOST:WORKER_METRICS_PORT. A port already taken (a second
 * worker on the same host with the same setting) costs the metrics, not the worker.
 */
async function serveMetrics(
  registry: Registry,
  config: Config,
  logger: Logger,
  probes: { health: () => HealthReport; queueDepth: () => Promise<QueueDepth> },
): Promise<MetricsServer | null> {
  if (config.worker.metricsPort === 0) return null;
  try {
    return await startMetricsServer(registry, { host: config.host, port: config.worker.metricsPort, ...probes });
  } catch (err) {
    logger.error(
      { err: (err as Error).message, port: config.worker.metricsPort },
      'could not serve /metrics; set WORKER_METRICS_PORT to a free port (or 0) for each worker on this host',
    );
    return null;
  }
}
