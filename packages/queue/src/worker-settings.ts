import { hostname } from 'node:os';
import type { WorkerOptions } from 'bullmq';
import { MAX_STALLED_COUNT } from './generation.queue.js';

/** Upper bound on the time between two stalled checks, whatever the lock (SPEC §14: takeover within WORKER_LOCK_MS + 5 s). */
export const MAX_STALLED_CHECK_INTERVAL_MS = 3000;

/**
 * A crashed worker's job is taken back by the first stalled check after its lock
 * expires: at most `lockMs` after the last renewal plus one check interval. The
 * check is one Lua script per queue per interval, shared by all workers (BullMQ
 * guards it with a key), so checking often costs nothing per worker added.
 */
export function stalledCheckIntervalMs(lockMs: number): number {
  return Math.max(100, Math.min(Math.floor(lockMs / 2), MAX_STALLED_CHECK_INTERVAL_MS));
}

/**
 * Lock and stalled-check options of every BullMQ worker of this service.
 * Renewal every third of the lock: a renewal can be late by two thirds of the
 * lock (a busy event loop, a slow Redis round trip) before a live job is taken
 * for a crashed one. `name` is recorded on each job it takes (`processedBy`),
 * so an operator can tell which process held a job.
 */
export function workerLockOptions(lockMs: number): Pick<WorkerOptions, 'lockDuration' | 'lockRenewTime' | 'stalledInterval' | 'maxStalledCount' | 'name'> {
  return {
    lockDuration: lockMs,
    lockRenewTime: Math.max(1, Math.floor(lockMs / 3)),
    stalledInterval: stalledCheckIntervalMs(lockMs),
    maxStalledCount: MAX_STALLED_COUNT,
    name: workerName(),
  };
}

/** `host:pid`: unique among live workers, and what the process logs at start. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}
