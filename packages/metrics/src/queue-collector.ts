import { Gauge, type Registry } from 'prom-client';

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What the collector needs from a BullMQ Queue. */
export interface MeasuredQueue {
  readonly name: string;
  getJobCounts(...types: QueueState[]): Promise<Record<string, number>>;
  getJobs(types: QueueState[], start?: number, end?: number, asc?: boolean): Promise<Array<{ timestamp: number } | undefined>>;
}

/** How many jobs of each waiting state are looked at for the oldest. */
const OLDEST_LOOKAHEAD = 50;

interface QueueSnapshot {
  name: string;
  counts: Record<string, number>;
  /** Seconds since the oldest waiting job was added; 0 when nothing waits. */
  oldestWaitingSeconds: number;
}

export interface QueueMetricsOptions {
  /** A scrape never waits longer than this for Redis; on failure the series are left out of that scrape. */
  timeoutMs?: number;
  now?: () => number;
  onError?: (err: Error) => void;
}

/**
 * `banatie_queue_jobs{queue,state}` and `banatie_queue_oldest_waiting_seconds{queue}`,
 * read from BullMQ when Prometheus scrapes (a few Redis commands per queue per
 * scrape; nothing on the request path). Both gauges share one read per scrape.
 */
export function queueMetrics(registry: Registry, queues: MeasuredQueue[], opts: QueueMetricsOptions = {}): void {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? 2000;
  let inflight: Promise<QueueSnapshot[] | null> | null = null;
  // prom-client collects every metric of a scrape concurrently: the first collect starts the read, the other joins it.
  const snapshot = (): Promise<QueueSnapshot[] | null> => {
    inflight ??= withTimeout(Promise.all(queues.map((q) => readQueue(q, now))), timeoutMs)
      .catch((err: Error) => {
        opts.onError?.(err);
        return null;
      })
      .finally(() => {
        inflight = null;
      });
    return inflight;
  };

  new Gauge({
    name: 'banatie_queue_jobs',
    help: 'Jobs in each BullMQ queue (generations, webhooks) by state, read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const q of snap ?? []) for (const [state, count] of Object.entries(q.counts)) this.set({ queue: q.name, state }, count);
    },
  });
  new Gauge({
    name: 'banatie_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting for a worker (0 when none waits), per queue, read at scrape time',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const q of snap ?? []) this.set({ queue: q.name }, q.oldestWaitingSeconds);
    },
  });
}

async function readQueue(queue: MeasuredQueue, now: () => number): Promise<QueueSnapshot> {
  const [counts, oldest] = await Promise.all([
    queue.getJobCounts(...QUEUE_STATES),
    // Ascending: the first jobs added to the wait list, and the next ones in the fair order (the generation queue's
    // jobs wait in BullMQ's prioritized set, ordered by their place, not their age: the oldest is among the next few).
    queue.getJobs(['waiting', 'prioritized'], 0, OLDEST_LOOKAHEAD - 1, true),
  ]);
  const stamps = oldest.map((j) => j?.timestamp).filter((t): t is number => typeof t === 'number');
  const added = stamps.length ? Math.min(...stamps) : undefined;
  return { name: queue.name, counts, oldestWaitingSeconds: added === undefined ? 0 : Math.max(0, (now() - added) / 1000) };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue metrics: Redis did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
