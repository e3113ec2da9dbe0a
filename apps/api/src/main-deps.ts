import type { Config } from '@banatie/config';
import { systemClock } from '@banatie/core';
import { createDb } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { GenerationEventHub, createGenerationNotifier, createGenerationQueue, createRedis, createWebhookQueue } from '@banatie/queue';
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
  const webhooks = createWebhookQueue(redis, config.queuePrefix, config.webhook.retryBaseMs);
  webhooks.on('error', (err) => logger.warn({ err: err.message }, 'webhook queue error'));
  return {
    config,
    logger,
    db,
    redis,
    queue,
    events,
    storage,
    clock: systemClock,
    notifier: createGenerationNotifier({ redis, prefix: config.queuePrefix, webhooks }),
    close: async () => {
      await queue.close().catch(() => undefined);
      await webhooks.close().catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
      await db.destroy();
    },
  };
}
