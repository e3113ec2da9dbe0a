// The suite's 3-master Redis Cluster for the scaling rows. scripts/lib.sh is its
// one home (scripts/test.sh uses the same functions): the bench calls them through bash.
import { execFileSync } from 'node:child_process';
import { ROOT } from './procs.js';

export interface BenchRedisCluster {
  /** REDIS_CLUSTER_NODES of the cluster (host:port,…). */
  nodes: string;
  /** Stops the cluster when this bench started it; a reused one keeps running. */
  stop(): void;
}

/** Runs `script` in bash after sourcing scripts/lib.sh; its progress lines (stderr) pass through. */
function libSh(script: string, env: Record<string, string> = {}): string {
  return execFileSync('bash', ['-c', `set -euo pipefail; source scripts/lib.sh; ${script}`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The cluster's nodes when one is running on the suite's ports, else undefined (starts nothing). */
export function runningRedisCluster(): string | undefined {
  try {
    return libSh('redis_cluster_running && redis_cluster_nodes').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Starts the cluster (or reuses a running one) with scripts/lib.sh's `ensure_redis_cluster`. */
export function ensureRedisCluster(): BenchRedisCluster {
  const out = libSh('ensure_redis_cluster >&2; printf "%s\\n%s\\n" "$TEST_REDIS_CLUSTER_NODES" "$BANATIE_REDIS_CLUSTER_STARTED_DIR"');
  const [nodes = '', startedDir = ''] = out.split('\n');
  let stopped = !startedDir;
  return {
    nodes,
    stop: () => {
      if (stopped) return;
      stopped = true;
      libSh('stop_redis_cluster "$BENCH_REDIS_CLUSTER_DIR"', { BENCH_REDIS_CLUSTER_DIR: startedDir });
    },
  };
}

/**
 * The cluster the scaling rows also run on: the one named by --redis-cluster; else the suite's,
 * started when needed (in quick mode only one already running); none with --no-redis-cluster.
 */
export function benchRedisCluster(opts: { nodes?: string; disabled: boolean; quick: boolean }): BenchRedisCluster | undefined {
  if (opts.disabled) return undefined;
  const keep = (nodes: string): BenchRedisCluster => ({ nodes, stop: () => undefined });
  if (opts.nodes) return keep(opts.nodes);
  if (!opts.quick) return ensureRedisCluster();
  const running = runningRedisCluster();
  return running ? keep(running) : undefined;
}
