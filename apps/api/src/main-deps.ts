import type { Config } from '@banatie/config';
import { ApiKeyCache, CdnDelivery, LiveService, StorageCheckError, createStatusNotifier, systemClock } from '@banatie/core';
import { createDb, listenForLiveChanges } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import {
  GenerationEventHub,
  createGenerationQueue,
  createJobQueue,
  createRedis,
  createSharedState,
  createStatusBroadcast,
  createStreamSlots,
  createWebhookQueue,
  publishApiKeyRevoked,
  watchApiKeyRevocations,
} from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import type { AppDeps } from './deps.js';

/** How long a verified key is trusted without PostgreSQL when a revocation broadcast is missed. */
const API_KEY_CACHE_TTL_MS = 15_000;
/** An event stream's slot lapses after this many missed heartbeats (a crashed API's streams free their slots). */
const STREAM_LEASE_HEARTBEATS = 3;

/** Wires real adapters from the configuration. */
export async function createAppDeps(config: Config, logger: Logger): Promise<AppDeps & { close(): Promise<void> }> {
  const db = createDb(config.databaseUrl, {
    max: config.databasePoolMax ?? 20,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    onError: (err) => logger.warn({ err }, 'postgres pool error'),
  });
  const redis = createRedis(config, 'producer');
  const subscriber = createRedis(config, 'subscriber');
  for (const [name, conn] of [['redis', redis], ['redis-subscriber', subscriber]] as const) {
    conn.on('error', (err) => logger.warn({ err: err.message }, `${name} connection error`));
  }
  const storage = createObjectStorage(config.storage);
  await storage.init().catch((err: Error) =>
    logger.warn({ storage: err instanceof StorageCheckError ? err.report : { error: err.message } }, `storage init failed (${err.message}); /ready reports it`),
  );
  const queue = createGenerationQueue(redis, config.queuePrefix, config.worker.attempts);
  queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  const events = new GenerationEventHub(subscriber, config.queuePrefix);
  const webhooks = createWebhookQueue(redis, config.queuePrefix, config.webhook.retryBaseMs);
  webhooks.on('error', (err) => logger.warn({ err: err.message }, 'webhook queue error'));
  const jobs = createJobQueue({ generations: queue, webhooks });
  const shared = createSharedState(redis, config.queuePrefix);
  const live = new LiveService({
    db,
    shared,
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
    generationDeadlineMs: config.generationDeadlineMs,
    maxWaiters: config.live.maxWaiters,
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
  const revocationListeners = new Set<(keyId: string) => void>();
  const keyRevoked = (keyId: string) => {
    keyCache.revoke(keyId);
    for (const listener of revocationListeners) listener(keyId);
  };
  watchApiKeyRevocations(subscriber, config.queuePrefix, {
    onRevoked: keyRevoked,
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
    cdn: new CdnDelivery({ db, storage, shared, clock: systemClock, ...config.cdn }),
    keyCache,
    streamSlots: createStreamSlots(redis, config.queuePrefix, {
      max: config.sse.maxPerKey,
      leaseMs: STREAM_LEASE_HEARTBEATS * config.sse.heartbeatMs,
    }),
    watchKeyRevocations: (listener) => {
      revocationListeners.add(listener);
      return () => revocationListeners.delete(listener);
    },
    onApiKeyRevoked: async (keyId) => {
      keyRevoked(keyId);
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
