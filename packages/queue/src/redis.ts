import { Redis } from 'ioredis';

/**
 * `worker`: blocking connections BullMQ needs (retries forever).
 * `producer`: fails fast while Redis is down, so the API answers 503 instead of hanging.
 */
export function createRedis(url: string, role: 'worker' | 'producer' | 'subscriber'): Redis {
  const common = { lazyConnect: false, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
  if (role === 'producer') {
    return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  }
  return new Redis(url, { ...common, maxRetriesPerRequest: null });
}

/** Resolves once the connection is ready (or rejects after timeoutMs). */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
