import { Cluster, Command, Redis, ReplyError, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to the single Redis or to a Redis Cluster: every Redis use takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the config's `redisUrl`, and `redisClusterNodes` when it is a cluster. */
export interface RedisTarget {
  redisUrl: string;
  redisClusterNodes?: readonly { host: string; port: number }[] | undefined;
}

export type RedisRole = 'worker' | 'producer' | 'subscriber';

const retryStrategy = (times: number) => Math.min(times * 200, 2000);

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
 * Sends one command of a producer connection: a command a connected but silent
 * Redis never answers fails after PRODUCER_COMMAND_TIMEOUT_MS, and every failure
 * that is not Redis's own reply (a `ReplyError`, such as the NOSCRIPT ioredis
 * handles itself) becomes a RedisUnavailableError, so callers tell an outage by
 * its type rather than by ioredis's wording.
 */
function sendFailingFast(command: Command, send: () => unknown): unknown {
  command.setTimeout(PRODUCER_COMMAND_TIMEOUT_MS, () => new RedisUnavailableError(new Error('Command timed out')));
  const typed = (send() as Promise<unknown>).catch((err: unknown) => {
    throw err instanceof ReplyError || err instanceof RedisUnavailableError ? err : new RedisUnavailableError(err);
  });
  // Pipelines read `command.promise` and drop this return value: its rejection must not go unhandled.
  typed.catch(() => undefined);
  return typed;
}

/** The producer connection fails fast: see sendFailingFast. */
function failingFast<T extends RedisClient>(client: T): T {
  const send = client.sendCommand.bind(client) as (command: Command, ...rest: unknown[]) => unknown;
  client.sendCommand = ((command: Command, ...rest: unknown[]) => sendFailingFast(command, () => send(command, ...rest))) as T['sendCommand'];
  return client;
}

/**
 * `producer` fails fast while Redis is down, so the API answers 503 instead of hanging;
 * `worker` (BullMQ's blocking connections) and `subscriber` retry forever.
 */
function roleOptions(role: RedisRole): RedisOptions {
  return role === 'producer'
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 }
    : { maxRetriesPerRequest: null };
}

/** The one place Redis connections are made: a Cluster client when the target names cluster nodes. */
export function createRedis(target: RedisTarget, role: RedisRole): RedisClient {
  const options: RedisOptions = { lazyConnect: false, retryStrategy, ...roleOptions(role) };
  const client = target.redisClusterNodes?.length
    ? new Cluster([...target.redisClusterNodes], clusterOptions(target.redisUrl, options))
    : new Redis(target.redisUrl, options);
  return role === 'producer' ? failingFast(client) : client;
}

/** REDIS_URL's credentials and TLS apply to every node; the offline queue is the cluster's own setting. */
function clusterOptions(url: string, options: RedisOptions): ClusterOptions {
  // ioredis replaces the nodes' own retryStrategy with clusterRetryStrategy.
  const { enableOfflineQueue, ...perNode } = options;
  const parsed = new URL(url);
  return {
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: retryStrategy,
    // A cluster that lost a master answers CLUSTERDOWN until failover: retry briefly, as BullMQ expects.
    retryDelayOnClusterDown: 200,
    redisOptions: {
      ...perNode,
      username: decodeURIComponent(parsed.username) || undefined,
      password: decodeURIComponent(parsed.password) || undefined,
      tls: parsed.protocol === 'rediss:' ? {} : undefined,
    },
  };
}

/** True when the client talks to a Redis Cluster. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** Resolves once the connection is ready (or rejects after timeoutMs). */
export async function waitForRedis(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
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
