import { PRIORITY_LIMIT } from 'bullmq';
import type { Redis } from 'ioredis';
import { GENERATION_QUEUE } from './queue-names.js';

/**
 * Fair dispatch between projects on open-source BullMQ (docs/decisions.md, "Capacity…"):
 * start-time fair queuing expressed as BullMQ job priorities. Each job gets a virtual
 * start tag: its project's previous tag + 1, but never below the virtual time V (the
 * tag at the head of the queue). A project with a backlog holds tags V+1…V+n; a project
 * that was idle starts at V+1, so its job is next but one whatever the backlog. BullMQ
 * takes the lowest priority first (O(log n) in its sorted set), so taking a job costs
 * the same with ten projects or ten thousand, and no project has a loop of its own.
 *
 * Priority = 2 × tag + lane: an interactive job (live MISS, `Prefer: wait`) has its own
 * tag sequence per project and wins ties, so it goes ahead of its project's plain backlog.
 */

/** A backlog deeper than this many rounds ahead of V ties (FIFO among itself) instead of growing priorities. */
export const FAIR_MAX_AHEAD = 50_000;
/** How long a project's last tag is remembered once it stops submitting. */
const LAST_TAG_TTL_S = 7 * 24 * 3600;
const MAX_TAG = Math.floor(PRIORITY_LIMIT / 2) - 1;

/**
 * KEYS: V, the project's last tag in this lane, BullMQ's prioritized set and wait list.
 * ARGV: max ahead, ttl, max tag, lane. Returns the job's priority and how many queued
 * jobs will be taken before it (ties go to the earlier job). V advances to the head of the queue
 * (the next job to start), so it never goes back and costs the workers nothing.
 */
const PRIORITY_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if head[2] then
  local t = math.floor(math.floor(tonumber(head[2]) / 4294967296) / 2)
  if t > v then v = t; redis.call('SET', KEYS[1], v) end
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local lane = tonumber(ARGV[4])
local tag
if lane == 0 then tag = math.max(v, last + 1) else tag = math.max(v, last) + 1 end
tag = math.min(tag, v + tonumber(ARGV[1]), tonumber(ARGV[3]))
if tag > last then redis.call('SET', KEYS[2], tag, 'EX', ARGV[2]) end
local priority = 2 * tag + lane
local ahead = redis.call('ZCOUNT', KEYS[3], '-inf', (priority + 1) * 4294967296 - 1) + redis.call('LLEN', KEYS[4])
return { priority, ahead }
`;

/**
 * KEYS: the project's running set (job id → lease end), its waiting set. ARGV: job id,
 * max, lease ms. 1: the job holds a slot (one it held already counts); 0: all taken, the
 * job is on the waiting set.
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], 7 * 24 * 3600 * 1000)
return 0
`;

/** KEYS: running, waiting. ARGV: job id (or '' for none), max. Frees the job's slot; returns a waiting job to wake when one is free. */
const RELEASE_SCRIPT = `
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return false end
local next = redis.call('ZPOPMIN', KEYS[2])
return next[1] or false
`;

/** KEYS: BullMQ's prioritized set, its wait list. ARGV: job id. Jobs ahead of it, or -1 when it is not queued. */
const POSITION_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return -1 end
return redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. score) + redis.call('LLEN', KEYS[2])
`;

interface FairScripts {
  banatieFairPriority(v: string, last: string, prioritized: string, wait: string, maxAhead: number, ttl: number, maxTag: number, lane: number): Promise<[number, number]>;
  banatieSlotAcquire(running: string, waiting: string, jobId: string, max: number, leaseMs: number): Promise<number>;
  banatieSlotRelease(running: string, waiting: string, jobId: string, max: number): Promise<string | null>;
  banatieQueuePosition(prioritized: string, wait: string, jobId: string): Promise<number>;
}

function scripts(redis: Redis): FairScripts {
  const r = redis as Redis & Partial<FairScripts>;
  if (!r.banatieFairPriority) {
    redis.defineCommand('banatieFairPriority', { numberOfKeys: 4, lua: PRIORITY_SCRIPT });
    redis.defineCommand('banatieSlotAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('banatieSlotRelease', { numberOfKeys: 2, lua: RELEASE_SCRIPT });
    redis.defineCommand('banatieQueuePosition', { numberOfKeys: 2, lua: POSITION_SCRIPT });
  }
  return r as Redis & FairScripts;
}

/** BullMQ's own keys of the generation queue (`<prefix>:generations:<type>`). */
const queueKey = (prefix: string, type: string) => `${prefix}:${GENERATION_QUEUE}:${type}`;
/** Our keys share the `{fair}` hash tag: a script touching V and a project's keys stays on one Cluster slot. */
const fairKey = (prefix: string, ...parts: string[]) => [`${prefix}:{fair}`, ...parts].join(':');

/** The BullMQ priority of a new job of the project (its place in the fair order), and how many queued jobs are ahead of it. */
export async function fairPriority(
  redis: Redis,
  prefix: string,
  projectId: string,
  interactive: boolean,
): Promise<{ priority: number; ahead: number }> {
  const lane = interactive ? 0 : 1;
  const [priority, ahead] = await scripts(redis).banatieFairPriority(
    fairKey(prefix, 'v'),
    fairKey(prefix, interactive ? 'ilast' : 'last', projectId),
    queueKey(prefix, 'prioritized'),
    queueKey(prefix, 'wait'),
    FAIR_MAX_AHEAD,
    LAST_TAG_TTL_S,
    MAX_TAG,
    lane,
  );
  return { priority: Number(priority), ahead: Number(ahead) };
}

/** How many queued jobs will be taken before this one; null when it is not waiting in the queue (delayed, running, gone). */
export async function queuePosition(redis: Redis, prefix: string, jobId: string): Promise<number | null> {
  const n = Number(await scripts(redis).banatieQueuePosition(queueKey(prefix, 'prioritized'), queueKey(prefix, 'wait'), jobId));
  return n < 0 ? null : n;
}

/**
 * A project's `maxConcurrency` across every worker: a slot per running job in Redis,
 * with a lease (a job whose worker died gives its slot back when the lease ends, or
 * keeps it when BullMQ hands the same job to another worker). A job that finds every
 * slot taken waits on the project's waiting set and is woken by the next release.
 */
export interface ConcurrencySlots {
  /** True when the job holds one of `max` slots; false: it is on the waiting set. */
  acquire(projectId: string, jobId: string, max: number): Promise<boolean>;
  /** Frees the job's slot (none: '') and returns a waiting job to wake if a slot is free. */
  release(projectId: string, jobId: string, max: number): Promise<string | null>;
}

export function createConcurrencySlots(redis: Redis, prefix: string, leaseMs: number): ConcurrencySlots {
  const s = scripts(redis);
  const keys = (projectId: string) => [fairKey(prefix, 'running', projectId), fairKey(prefix, 'waiting', projectId)] as const;
  return {
    acquire: async (projectId, jobId, max) => Number(await s.banatieSlotAcquire(...keys(projectId), jobId, max, leaseMs)) === 1,
    release: async (projectId, jobId, max) => (await s.banatieSlotRelease(...keys(projectId), jobId, max)) ?? null,
  };
}
