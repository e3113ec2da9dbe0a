import { runProviderBatchTick, type ProviderBatchDeps } from '@banatie/core';

export interface ProviderBatchLoop {
  /** One tick now (tests); resolves when it is done. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the batch-tier tick (gather, submit, poll) every `tickMs`, never two at
 * once in this process; PostgreSQL leases keep workers from doing the same work.
 */
export function startProviderBatchLoop(deps: ProviderBatchDeps, tickMs: number): ProviderBatchLoop {
  let running: Promise<void> | null = null;
  let stopped = false;
  const runOnce = (): Promise<void> => {
    running ??= runProviderBatchTick(deps)
      .then(() => undefined)
      .catch((err: unknown) => deps.logger.warn({ err }, 'provider batch tick failed; will try again'))
      .finally(() => (running = null));
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, tickMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Often enough to gather by count and to poll on time, at most once a second. */
export function providerBatchTickMs(batch: { intervalMs: number; pollMs: number }): number {
  return Math.max(50, Math.min(1000, batch.intervalMs, batch.pollMs));
}
