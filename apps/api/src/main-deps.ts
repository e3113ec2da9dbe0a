import type { Config } from '@banatie/config';
import { LiveService, systemClock } from '@banatie/core';
import { createDb, listenForLiveChanges } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { GenerationEventHub, createGenerationNotifier, createGenerationQueue, createRedis } from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import type { AppDeps } from './deps.js';

/** Wires real adapters from the configuration. */
export async function createAppDeps(config: Config, logger: Logger): Promise<AppDeps & { close(): Promise<void> }> {
  const db = createDb(config.databaseUrl, { max: 20, onError: (err) => logger.warn({ err }, 'postgres pool error') });
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
  const live = new LiveService({
    db,
    redis,
    queue,
    events,
    storage,
    clock: systemClock,
    logger,
    publicBaseUrl: config.publicBaseUrl,
    prefix: config.queuePrefix,
    missPerIpPerHour: config.liveMissPerIpPerHour,
    waitTimeoutMs: config.live.waitTimeoutMs,
    hitFlushMs: config.live.hitFlushMs,
    hotCacheBytes: config.live.cacheMaxBytes,
  });
  const liveChanges = listenForLiveChanges(config.databaseUrl, {
    onChange: (payload) => live.invalidate(payload),
    onReset: () => live.reset(),
    onError: (err) => logger.warn({ err: err.message }, 'live invalidation listener error'),
  });
  await liveChanges.ready;
  return {
    config,
    logger,
    db,
    redis,
    queue,
    events,
    storage,
    clock: systemClock,
    notifier: createGenerationNotifier({ redis, prefix: config.queuePrefix }),
    live,
    close: async () => {
      await live.close();
      await liveChanges.close();
      await queue.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await db.destroy();
    },
  };
}
