import { Command, Redis, ReplyError } from 'ioredis';

/** Below the 3 s within which a request must get its 503 when Redis is down (SPEC §14); Redis answers in milliseconds. */
export const PRODUCER_COMMAND_TIMEOUT_MS = 2000;

/** A command of a fail-fast connection that Redis could not take or did not answer (down, unreachable, silent). */
export class RedisUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('Redis unavailable', { cause });
    this.name = 'RedisUnavailableError';
  }
}

/**
 * The producer connection: no offline queue while disconnected, and a command a
 * connected but silent Redis never answers fails after PRODUCER_COMMAND_TIMEOUT_MS.
 * Every failure that is not Redis's own reply (a `ReplyError`, such as the
 * NOSCRIPT ioredis handles itself) becomes a RedisUnavailableError, so callers
 * tell an outage by its type rather than by ioredis's wording.
 */
class FailFastRedis extends Redis {
  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    command.setTimeout(PRODUCER_COMMAND_TIMEOUT_MS, () => new RedisUnavailableError(new Error('Command timed out')));
    const sent = super.sendCommand(command, stream) as Promise<unknown>;
    const typed = sent.catch((err: unknown) => {
      throw err instanceof ReplyError || err instanceof RedisUnavailableError ? err : new RedisUnavailableError(err);
    });
    // Pipelines read `command.promise` and drop this return value: its rejection must not go unhandled.
    typed.catch(() => undefined);
    return typed;
  }
}

/**
 * `worker`: blocking connections BullMQ needs (retries forever).
 * `producer`: fails fast while Redis is down, so the API answers 503 instead of hanging.
 */
export function createRedis(url: string, role: 'worker' | 'producer' | 'subscriber'): Redis {
  const common = { lazyConnect: false, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
  if (role === 'producer') {
    return new FailFastRedis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
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
