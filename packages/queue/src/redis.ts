import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to the single Redis or to a Redis Cluster: every Redis use takes either. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the config's `redisUrl`, and `redisClusterNodes` when it is a cluster. */
export interface RedisTarget {
  redisUrl: string;
  redisClusterNodes?: readonly { host: string; port: number }[] | undefined;
}

export type RedisRole = 'worker' | 'producer' | 'subscriber';

const retryStrategy = (times: number) => Math.min(times * 200, 2000);

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
  const options = { lazyConnect: false, retryStrategy, ...roleOptions(role) };
  if (!target.redisClusterNodes?.length) return new Redis(target.redisUrl, options);
  return new Cluster([...target.redisClusterNodes], clusterOptions(target.redisUrl, options));
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
