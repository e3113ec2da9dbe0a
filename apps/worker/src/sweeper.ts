import { randomUUID } from 'node:crypto';
import { sweepGenerations, type SweeperDeps } from '@banatie/core';
import type { RedisClient } from '@banatie/queue';

export interface Sweeper {
  /** Runs one sweep now if no other worker holds the turn; true when this process swept. */
  runOnce(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Every `intervalMs`, at most one worker across the deployment sweeps: the turn is
 * a Redis key set with NX that expires after the interval (never released early,
 * so a crashed holder simply loses its turn).
 */
export function startSweeper(
  deps: SweeperDeps,
  opts: { redis: RedisClient; prefix: string; intervalMs: number; staleAfterMs: number },
): Sweeper {
  const lockKey = `${opts.prefix}:sweeper:lock`;
  const token = randomUUID();
  let running: Promise<boolean> | null = null;
  let stopped = false;

  const sweep = async (): Promise<boolean> => {
    const got = await opts.redis.set(lockKey, token, 'PX', opts.intervalMs, 'NX');
    if (got !== 'OK') return false;
    const report = await sweepGenerations(deps, { staleAfterMs: opts.staleAfterMs });
    if (report.requeued.length || report.failed.length || report.expired.length || report.webhooksRequeued.length || report.batchesCompleted.length) deps.logger.info(report, 'sweep done');
    return true;
  };
  const runOnce = (): Promise<boolean> => {
    running ??= sweep()
      .catch((err: unknown) => {
        deps.logger.warn({ err }, 'sweep failed; will try again');
        return false;
      })
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, opts.intervalMs);
  void runOnce();

  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
