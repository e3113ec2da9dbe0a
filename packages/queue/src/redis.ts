import { Redis } from 'ioredis';

/**
 * `worker`: blocking connections BullMQ needs (retries forever).
 * `producer`: fails fast while Redis is down, so the API answers 503 instead of hanging.
 */
/** Below the 3 s within which a request must get its 503 when Redis is down (SPEC §14); Redis answers in milliseconds. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2000;

export function createRedis(url: string, role: 'worker' | 'producer' | 'subscriber'): Redis {
  const common = { lazyConnect: false, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
  if (role === 'producer') {
    // Fail fast: no offline queue while disconnected, and a command a connected but silent Redis never answers fails after commandTimeout.
    return new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS });
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
