import type { RedisClient } from './redis.js';

/**
 * Takes a slot if fewer than ARGV[1] unexpired leases remain: KEYS[1] is a sorted
 * set of stream ids scored by lease end (RedisClient time, so API clocks do not matter).
 * ARGV: max, stream id, lease ms. Returns 1 when taken, 0 when full.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** Extends a stream's lease (re-adding it if it lapsed: a living stream counts). ARGV: stream id, lease ms. */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * Open event streams per API key, counted across API instances. Each stream
 * holds a lease that its heartbeat renews; a crashed API's leases lapse after
 * `leaseMs`, so its slots come back without anyone releasing them.
 */
export interface StreamSlots {
  /** False when the key already holds `max` live leases. */
  acquire(keyId: string, streamId: string): Promise<boolean>;
  renew(keyId: string, streamId: string): Promise<void>;
  release(keyId: string, streamId: string): Promise<void>;
  /** Live leases of a key (tests, diagnostics). */
  count(keyId: string): Promise<number>;
}

export function streamSlotsKey(prefix: string, keyId: string): string {
  return `${prefix}:sse-slots:{${keyId}}`;
}

export function createStreamSlots(redis: RedisClient, prefix: string, opts: { max: number; leaseMs: number }): StreamSlots {
  const at = (keyId: string) => streamSlotsKey(prefix, keyId);
  return {
    acquire: async (keyId, streamId) => (await redis.eval(ACQUIRE_SCRIPT, 1, at(keyId), opts.max, streamId, opts.leaseMs)) === 1,
    renew: async (keyId, streamId) => {
      await redis.eval(RENEW_SCRIPT, 1, at(keyId), streamId, opts.leaseMs);
    },
    release: async (keyId, streamId) => {
      await redis.zrem(at(keyId), streamId);
    },
    count: async (keyId) => {
      const t = await redis.time();
      return redis.zcount(at(keyId), `(${Number(t[0]) * 1000 + Math.floor(Number(t[1]) / 1000)}`, '+inf');
    },
  };
}
