import type { SharedState } from '@banatie/core';
import type { RedisClient } from './redis.js';

/** Compare-and-delete, so a lock taken over by another holder is left alone. */
const UNLOCK_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** The SharedState port on Redis; every key is namespaced `<prefix>:<key>`. */
export function createSharedState(redis: RedisClient, prefix: string): SharedState {
  const at = (key: string) => `${prefix}:${key}`;
  return {
    lockHolder: (key) => redis.get(at(key)),
    tryLock: async (key, holder, ttlMs) => (await redis.set(at(key), holder, 'PX', ttlMs, 'NX')) === 'OK',
    unlock: async (key, holder) => {
      await redis.eval(UNLOCK_SCRIPT, 1, at(key), holder).catch(() => undefined);
    },
    increment: async (key, ttlMs) => {
      const results = await redis.multi().incr(at(key)).pexpire(at(key), ttlMs).exec();
      return Number(results?.[0]?.[1] ?? 0);
    },
  };
}
