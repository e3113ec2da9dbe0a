import type { Config } from '@banatie/config';
import { ApiKeyCache, LiveService, createStatusNotifier, systemClock } from '@banatie/core';
import { createDb, listenForLiveChanges } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import {
  GenerationEventHub,
  createGenerationQueue,
  createJobQueue,
  createRedis,
  createSharedState,
  createStatusBroadcast,
  createWebhookQueue,
  publishApiKeyRevoked,
  watchApiKeyRevocations,
} from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import type { AppDeps } from './deps.js';

/** How long a verified key is trusted without PostgreSQL when a revocation broadcast is missed. */
const API_KEY_CACHE_TTL_MS = 15_000;

/** Wires real adapters from the configuration. */
export async function createAppDeps(config: Config, logger: Logger): Promise<AppDeps & { close(): Promise<void> }> {
  const db = createDb(config.databaseUrl, {
    max: config.databasePoolMax ?? 20,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    onError: (err) => logger.warn({ err }, 'postgres pool error'),
  });
  const redis = createRedis(config.redisUrl, 'producer');
  const subscriber = createRedis(config.redisUrl, 'subscriber');
  for (const [name, conn] of [['redis', redis], ['redis-subscriber', subscriber]] as const) {
    conn.on('error', (err) => logger.warn({ err: err.message }, `${name} connection error`));
  }
  const storage = createObjectStorage(config.storage);
  await storage.init().catch((err) => logger.warn({ err }, 'storage init failed; /ready will report it'));
  const queue = createGenerationQueue(redis, config.queuePrefix, config.worker.attempts);
  queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  const events = new GenerationEventHub(subscriber, config.queuePrefix);
  const webhooks = createWebhookQueue(redis, config.queuePrefix, config.webhook.retryBaseMs);
  webhooks.on('error', (err) => logger.warn({ err: err.message }, 'webhook queue error'));
  const jobs = createJobQueue({ generations: queue, webhooks });
  const live = new LiveService({
    db,
    shared: createSharedState(redis, config.queuePrefix),
    queue: jobs,
    events,
    storage,
    clock: systemClock,
    logger,
    publicBaseUrl: config.publicBaseUrl,
    missPerIpPerHour: config.liveMissPerIpPerHour,
    waitTimeoutMs: config.live.waitTimeoutMs,
    hitFlushMs: config.live.hitFlushMs,
    hotCacheBytes: config.live.cacheMaxBytes,
    models: { allowed: config.gemini.imageModels, defaultModel: config.gemini.imageModel },
  });
  // LISTEN needs a session of its own: never through a transaction-mode pooler.
  const liveChanges = listenForLiveChanges(config.databaseDirectUrl, {
    onChange: (payload) => live.invalidate(payload),
    onReset: () => live.reset(),
    onError: (err) => logger.warn({ err: err.message }, 'live invalidation listener error'),
  });
  await liveChanges.ready;
  const keyCache = new ApiKeyCache({ ttlMs: API_KEY_CACHE_TTL_MS, maxEntries: 10_000, clock: systemClock });
  watchApiKeyRevocations(subscriber, config.queuePrefix, {
    onRevoked: (keyId) => keyCache.revoke(keyId),
    onResubscribed: () => keyCache.clear(),
    onError: (err) => logger.warn({ err: err.message }, 'api key revocation subscribe failed'),
  });
  return {
    config,
    logger,
    db,
    redis,
    jobs,
    queue,
    webhookQueue: webhooks,
    events,
    storage,
    clock: systemClock,
    notifier: createStatusNotifier({ broadcast: createStatusBroadcast(redis, config.queuePrefix), jobs, batches: { db, clock: systemClock } }),
    live,
    keyCache,
    onApiKeyRevoked: async (keyId) => {
      keyCache.revoke(keyId);
      await publishApiKeyRevoked(redis, config.queuePrefix, keyId).catch((err: Error) =>
        logger.warn({ err: err.message, keyId }, 'revocation broadcast failed; other instances drop the key within the cache TTL'),
      );
    },
    close: async () => {
      await live.close();
      await liveChanges.close();
      await queue.close().catch(() => undefined);
      await webhooks.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await db.destroy();
    },
  };
}
