import { PRIORITY_LIMIT } from 'bullmq';
import type { RedisClient } from './redis.js';
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
 * Lanes: an interactive job (live MISS, `Prefer: wait`) has its own tag sequence per
 * project, and interactive tags get a head start of INTERACTIVE_HEAD_START rounds over
 * plain ones (priority 2 × tag for interactive, 2 × (tag + head start) + 1 for plain):
 * a project's waiting requests go ahead of its plain backlog, and stay fair between
 * projects among themselves.
 */

/** A backlog deeper than this many rounds ahead of V ties (FIFO among itself) instead of growing priorities. */
export const FAIR_MAX_AHEAD = 50_000;
/** Rounds by which interactive work is ahead of plain work: a project's first this-many waiting requests pass its whole plain backlog. */
export const INTERACTIVE_HEAD_START = 100;
const MAX_TAG = Math.floor(PRIORITY_LIMIT / 2) - 1 - INTERACTIVE_HEAD_START;
/** V at which every tag is shifted back down to 1: half of MAX_TAG, so tags (at most V + FAIR_MAX_AHEAD) never reach it. */
export const FAIR_RENORMALISE_AT = Math.floor(MAX_TAG / 2);

/**
 * KEYS: V, the last tags of this lane (a hash by project), BullMQ's prioritized set,
 * wait list, delayed set and active list, the other lane's last tags, the highest tag
 * given so far, the idle mark. ARGV: project,
 * max ahead, max tag, lane (0 interactive, 1 plain), the interactive head start.
 * ARGV also: V at which tags are renormalised, BullMQ's job key prefix (`<prefix>:generations:`).
 * Returns the job's priority and how many queued jobs will be taken before it (ties
 * go to the earlier job). V advances to the head of the queue (the next job to start),
 * so it never goes back and costs the workers nothing. When the queue is empty (no job
 * waiting, delayed or running) every tag is history: V moves up to the highest tag given
 * so far and the last tags are dropped, so every project starts level at V + 1. Only the
 * first script to find the queue empty does this (the idle mark, cleared by the next
 * script that finds work, or after 1 s): a burst of concurrent submits all find the queue
 * empty, since each job is added after its script has run. Were each of them to start
 * over, the burst's jobs would all tie at V + 1 (or V would run ahead with them), and
 * another project's job submitted a moment later would queue behind the whole burst.
 *
 * A queue that never drains would push V (and every new tag) up to MAX_TAG, where all
 * new jobs tie and fairness becomes FIFO. So once V reaches the threshold every tag is
 * shifted down by Δ = V − 1 in this same script (atomic with the decision): priorities
 * of the jobs in BullMQ's prioritized set (score = priority × 2^32 + counter, counter
 * kept) and in their job hashes, the hash priority of jobs waiting, delayed (retries,
 * parked for maxConcurrency) or running (a retry is re-added with its hash's priority),
 * the last tags, and V. A priority drops by 2Δ, which keeps its lane's parity; one that
 * would fall below its lane's lowest (2 interactive, 1 plain: 0 means "no priority" to
 * BullMQ) is clamped there, which keeps it ahead of every job at V, as it was. This is
 * O(jobs in the queue + projects), once per ~half a million rounds, and Redis is blocked
 * meanwhile: about 0.6 s for a 100k-job backlog (docs/decisions.md, "Renormalisation").
 */
const PRIORITY_SCRIPT = `
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('ZCARD', KEYS[3]) == 0 and redis.call('LLEN', KEYS[4]) == 0
    and redis.call('ZCARD', KEYS[5]) == 0 and redis.call('LLEN', KEYS[6]) == 0 then
  if redis.call('SET', KEYS[9], '1', 'NX', 'PX', 1000) then
    local top = tonumber(redis.call('GET', KEYS[8]) or '0')
    if top > v then v = top; redis.call('SET', KEYS[1], v) end
    redis.call('DEL', KEYS[2], KEYS[7])
  end
else
  redis.call('DEL', KEYS[9])
end
local headStart = tonumber(ARGV[5])
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if head[2] then
  local p = math.floor(tonumber(head[2]) / 4294967296)
  local t
  if p % 2 == 1 then t = (p - 1) / 2 - headStart else t = p / 2 end
  if t > v then v = t; redis.call('SET', KEYS[1], v) end
end
if v >= tonumber(ARGV[6]) then
  local delta = v - 1
  local function shifted(p)
    local n = p - 2 * delta
    if n < 1 then n = 2 - p % 2 end
    return n
  end
  local function shiftHash(jobId)
    local key = ARGV[7] .. jobId
    local p = tonumber(redis.call('HGET', key, 'priority') or '0')
    if p > 0 then redis.call('HSET', key, 'priority', shifted(p)) end
  end
  local queued = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
  local batch = {}
  for i = 1, #queued, 2 do
    local score = tonumber(queued[i + 1])
    local counter = score % 4294967296
    local p = shifted((score - counter) / 4294967296)
    batch[#batch + 1] = p * 4294967296 + counter
    batch[#batch + 1] = queued[i]
    if #batch >= 1000 then redis.call('ZADD', KEYS[3], unpack(batch)); batch = {} end
    local key = ARGV[7] .. queued[i]
    if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'priority', p) end
  end
  if #batch > 0 then redis.call('ZADD', KEYS[3], unpack(batch)) end
  for _, id in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do shiftHash(id) end
  for _, id in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do shiftHash(id) end
  for _, id in ipairs(redis.call('LRANGE', KEYS[6], 0, -1)) do shiftHash(id) end
  for _, lastKey in ipairs({ KEYS[2], KEYS[7] }) do
    local tags = redis.call('HGETALL', lastKey)
    for i = 1, #tags, 2 do redis.call('HSET', lastKey, tags[i], math.max(0, tonumber(tags[i + 1]) - delta)) end
  end
  v = v - delta
  redis.call('SET', KEYS[1], v)
  redis.call('SET', KEYS[8], math.max(v, tonumber(redis.call('GET', KEYS[8]) or '0') - delta))
end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local lane = tonumber(ARGV[4])
local tag
if lane == 0 then tag = math.max(v, last + 1) else tag = math.max(v, last) + 1 end
tag = math.min(tag, v + tonumber(ARGV[2]), tonumber(ARGV[3]))
if tag > last then redis.call('HSET', KEYS[2], ARGV[1], tag) end
if tag > tonumber(redis.call('GET', KEYS[8]) or '0') then redis.call('SET', KEYS[8], tag) end
local priority = 2 * tag
if lane == 1 then priority = 2 * (tag + headStart) + 1 end
local ahead = redis.call('ZCOUNT', KEYS[3], '-inf', (priority + 1) * 4294967296 - 1) + redis.call('LLEN', KEYS[4])
return { priority, ahead }
`;

/**
 * KEYS: the project's running set (job id → lease end), its waiting set. ARGV: job id,
 * max, lease ms. 1: the job holds a slot (one it held already counts); 0: all taken.
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
return 0
`;

/**
 * KEYS: running, waiting. ARGV: job id to free (or ''), max, job id to park (or '').
 * Parks a job (already delayed, so whoever pops it can promote it), frees a slot, and
 * returns a waiting job to wake when a slot is free.
 */
const RELEASE_SCRIPT = `
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], 'NX', redis.call('TIME')[1], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], 7 * 24 * 3600 * 1000)
end
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
  banatieFairPriority(
    v: string,
    last: string,
    prioritized: string,
    wait: string,
    delayed: string,
    active: string,
    otherLast: string,
    top: string,
    idle: string,
    projectId: string,
    maxAhead: number,
    maxTag: number,
    lane: number,
    headStart: number,
    renormaliseAt: number,
    jobKeyPrefix: string,
  ): Promise<[number, number]>;
  banatieSlotAcquire(running: string, waiting: string, jobId: string, max: number, leaseMs: number): Promise<number>;
  banatieSlotRelease(running: string, waiting: string, jobId: string, max: number, park: string): Promise<string | null>;
  banatieQueuePosition(prioritized: string, wait: string, jobId: string): Promise<number>;
}

function scripts(redis: RedisClient): FairScripts {
  const r = redis as RedisClient & Partial<FairScripts>;
  if (!r.banatieFairPriority) {
    redis.defineCommand('banatieFairPriority', { numberOfKeys: 9, lua: PRIORITY_SCRIPT });
    redis.defineCommand('banatieSlotAcquire', { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('banatieSlotRelease', { numberOfKeys: 2, lua: RELEASE_SCRIPT });
    redis.defineCommand('banatieQueuePosition', { numberOfKeys: 2, lua: POSITION_SCRIPT });
  }
  return r as RedisClient & FairScripts;
}

/** BullMQ's own keys of the generation queue (`<prefix>:generations:<type>`). */
const queueKey = (prefix: string, type: string) => `${prefix}:${GENERATION_QUEUE}:${type}`;
/**
 * Our keys live under the prefix next to BullMQ's own: with a hash-tagged prefix (`{banatie}`, which BullMQ
 * needs on Redis Cluster anyway) every key a script touches is on the same slot.
 */
const fairKey = (prefix: string, ...parts: string[]) => [`${prefix}:fair`, ...parts].join(':');

/** The BullMQ priority of a new job of the project (its place in the fair order), and how many queued jobs are ahead of it. */
export async function fairPriority(
  redis: RedisClient,
  prefix: string,
  projectId: string,
  interactive: boolean,
  renormaliseAt = FAIR_RENORMALISE_AT,
): Promise<{ priority: number; ahead: number }> {
  const lane = interactive ? 0 : 1;
  const [priority, ahead] = await scripts(redis).banatieFairPriority(
    fairKey(prefix, 'v'),
    fairKey(prefix, interactive ? 'ilast' : 'last'),
    queueKey(prefix, 'prioritized'),
    queueKey(prefix, 'wait'),
    queueKey(prefix, 'delayed'),
    queueKey(prefix, 'active'),
    fairKey(prefix, interactive ? 'last' : 'ilast'),
    fairKey(prefix, 'top'),
    fairKey(prefix, 'idle'),
    projectId,
    FAIR_MAX_AHEAD,
    MAX_TAG,
    lane,
    INTERACTIVE_HEAD_START,
    renormaliseAt,
    queueKey(prefix, ''),
  );
  return { priority: Number(priority), ahead: Number(ahead) };
}

/** How many queued jobs will be taken before this one; null when it is not waiting in the queue (delayed, running, gone). */
export async function queuePosition(redis: RedisClient, prefix: string, jobId: string): Promise<number | null> {
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
  /** True when the job holds one of `max` slots; false: all are taken. */
  acquire(projectId: string, jobId: string, max: number): Promise<boolean>;
  /** Frees the job's slot (none: '') and returns a waiting job to wake if a slot is free. */
  release(projectId: string, jobId: string, max: number): Promise<string | null>;
  /**
   * Puts a job that could not get a slot on the waiting set, once it is delayed (so a
   * release that pops it can promote it); returns a waiting job to wake if a slot freed meanwhile.
   */
  park(projectId: string, jobId: string, max: number): Promise<string | null>;
}

export function createConcurrencySlots(redis: RedisClient, prefix: string, leaseMs: number): ConcurrencySlots {
  const s = scripts(redis);
  const keys = (projectId: string) => [fairKey(prefix, 'running', projectId), fairKey(prefix, 'waiting', projectId)] as const;
  return {
    acquire: async (projectId, jobId, max) => Number(await s.banatieSlotAcquire(...keys(projectId), jobId, max, leaseMs)) === 1,
    release: async (projectId, jobId, max) => (await s.banatieSlotRelease(...keys(projectId), jobId, max, '')) ?? null,
    park: async (projectId, jobId, max) => (await s.banatieSlotRelease(...keys(projectId), '', max, jobId)) ?? null,
  };
}
