import type { RedisClient } from './redis.js';

/** `write`: requests that create work or cost money (per hour); `read`: every other authenticated request (per minute). */
export type RateBucket = 'write' | 'read';

export interface BucketRule {
  /** Units per window; 0: the bucket is off. */
  limit: number;
  windowMs: number;
}

export interface RequestLimitsOptions {
  buckets: Record<RateBucket, BucketRule>;
  /** Failed authentications per client per minute before every request of that client is refused; 0: off. */
  authFailuresPerMinute: number;
}

/** The outcome of charging one request. */
export type ChargeResult =
  | { outcome: 'allowed'; bucket: RateBucket; limit: number; remaining: number; resetMs: number }
  /** The bucket is off (limit 0): nothing counted, no headers. */
  | { outcome: 'unlimited'; bucket: RateBucket }
  | { outcome: 'over_limit'; bucket: RateBucket; limit: number; remaining: number; resetMs: number }
  /** The client is throttled for failed authentications until resetMs from now. */
  | { outcome: 'client_throttled'; resetMs: number };

export interface RequestLimits {
  readonly options: RequestLimitsOptions;
  /**
   * One round trip: refuses a throttled client, else takes `cost` units from the
   * key's bucket unless that would go over the limit (a refused request takes nothing).
   */
  charge(input: { client: string; keyId: string; bucket: RateBucket; cost: number }): Promise<ChargeResult>;
  /** Counts a failed authentication of `client`; the answer says whether it is now throttled. */
  recordAuthFailure(client: string): Promise<{ throttled: boolean; resetMs: number }>;
}

// KEYS[1] client's failure counter, KEYS[2] the key's bucket.
// ARGV: failure limit (0 off), cost, bucket limit (0 off), window ms.
// Returns {code, used, ttlMs}: code 1 allowed, 2 unlimited, 0 over the limit, -1 client throttled.
const CHARGE_SCRIPT = `
local maxFailures = tonumber(ARGV[1])
if maxFailures > 0 then
  local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
  if failures >= maxFailures then
    return {-1, failures, redis.call('PTTL', KEYS[1])}
  end
end
local limit = tonumber(ARGV[3])
if limit == 0 then return {2, 0, 0} end
local cost = tonumber(ARGV[2])
local window = tonumber(ARGV[4])
local ttl = redis.call('PTTL', KEYS[2])
local used = 0
if ttl > 0 then used = tonumber(redis.call('GET', KEYS[2]) or '0') else ttl = window end
if used + cost > limit then return {0, used, ttl} end
if used == 0 then
  redis.call('SET', KEYS[2], cost, 'PX', window)
  return {1, cost, window}
end
return {1, redis.call('INCRBY', KEYS[2], cost), ttl}
`;

// KEYS[1] client's failure counter; ARGV[1] window ms. The window starts at the first failure and is never extended.
const FAILURE_SCRIPT = `
local failures = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {failures, ttl}
`;

const MINUTE_MS = 60_000;

/**
 * Rate limits on Redis, shared by every API instance. Keys live under
 * `<prefix>:{ratelimit}:`: one hash tag, so the charge script's two keys (client
 * and API key) stay in one Redis Cluster slot.
 */
export function createRequestLimits(redis: RedisClient, prefix: string, options: RequestLimitsOptions): RequestLimits {
  const scripts = withScripts(redis);
  const base = `${prefix}:{ratelimit}`;
  const clientKey = (client: string) => `${base}:auth-failures:${client}`;
  const bucketKey = (bucket: RateBucket, keyId: string) => `${base}:${bucket}:${keyId}`;

  return {
    options,
    charge: async ({ client, keyId, bucket, cost }) => {
      const rule = options.buckets[bucket];
      const [code, used, ttl] = await scripts.banatieRateCharge(
        clientKey(client),
        bucketKey(bucket, keyId),
        options.authFailuresPerMinute,
        cost,
        rule.limit,
        rule.windowMs,
      );
      if (code === -1) return { outcome: 'client_throttled', resetMs: Math.max(ttl, 1) };
      if (code === 2) return { outcome: 'unlimited', bucket };
      const state = { bucket, limit: rule.limit, remaining: Math.max(rule.limit - used, 0), resetMs: Math.max(ttl, 1) };
      return code === 1 ? { outcome: 'allowed', ...state } : { outcome: 'over_limit', ...state };
    },
    recordAuthFailure: async (client) => {
      const [failures, ttl] = await scripts.banatieAuthFailure(clientKey(client), MINUTE_MS);
      return { throttled: failures > options.authFailuresPerMinute, resetMs: Math.max(ttl, 1) };
    },
  };
}

interface LimitScripts {
  banatieRateCharge(clientKey: string, bucketKey: string, ...args: number[]): Promise<[number, number, number]>;
  banatieAuthFailure(clientKey: string, windowMs: number): Promise<[number, number]>;
}

/** Registers the scripts (EVALSHA, loaded on first use) on this connection. */
function withScripts(redis: RedisClient): LimitScripts {
  const scripted = redis as RedisClient & Partial<LimitScripts>;
  if (!scripted.banatieRateCharge) redis.defineCommand('banatieRateCharge', { numberOfKeys: 2, lua: CHARGE_SCRIPT });
  if (!scripted.banatieAuthFailure) redis.defineCommand('banatieAuthFailure', { numberOfKeys: 1, lua: FAILURE_SCRIPT });
  return scripted as RedisClient & LimitScripts;
}
