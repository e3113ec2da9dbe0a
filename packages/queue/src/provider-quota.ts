import type { ProviderQuota } from '@banatie/core';
import type { RedisClient } from './redis.js';

const WINDOW_MS = 60_000;

/**
 * One round trip per provider call. KEYS: the model's pause key and its call log
 * (a sorted set of call times over the last minute). ARGV: requests per minute
 * (0: none), a unique member. Returns 0 when a call was taken, else the ms to wait.
 * Redis's own clock, so every worker agrees whatever its own clock says.
 */
const TAKE_SCRIPT = `
local pause = redis.call('PTTL', KEYS[1])
if pause > 0 then return pause end
local limit = tonumber(ARGV[1])
if limit == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ${WINDOW_MS})
if redis.call('ZCARD', KEYS[2]) < limit then
  redis.call('ZADD', KEYS[2], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ${WINDOW_MS})
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + ${WINDOW_MS} - now)
`;

/** Sets the pause unless a longer one is under way. */
const PAUSE_SCRIPT = `
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 0
`;

let counter = 0;

interface QuotaScripts {
  banatieQuotaTake(pauseKey: string, callsKey: string, limit: number, member: string): Promise<number>;
  banatieQuotaPause(pauseKey: string, ms: number): Promise<number>;
}

/**
 * The ProviderQuota port on Redis. A model's keys share the hash tag
 * `{quota:<model>}` under the prefix, so its script runs on one Redis Cluster slot.
 */
export function createProviderQuota(redis: RedisClient, prefix: string, limits: Readonly<Record<string, number>>): ProviderQuota {
  const keys = (model: string) => {
    const base = `${prefix}:{quota:${model}}`;
    return [`${base}:pause`, `${base}:calls`] as const;
  };
  const member = () => `${process.pid}-${Date.now()}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  // defineCommand: EVALSHA, the script body is sent once per connection.
  redis.defineCommand('banatieQuotaTake', { numberOfKeys: 2, lua: TAKE_SCRIPT });
  redis.defineCommand('banatieQuotaPause', { numberOfKeys: 1, lua: PAUSE_SCRIPT });
  const scripts = redis as unknown as QuotaScripts;
  return {
    take: async (model) => {
      const [pause, calls] = keys(model);
      return Number(await scripts.banatieQuotaTake(pause, calls, limits[model] ?? 0, member()));
    },
    pause: async (model, ms) => {
      if (ms <= 0) return;
      await scripts.banatieQuotaPause(keys(model)[0], Math.ceil(ms));
    },
  };
}
