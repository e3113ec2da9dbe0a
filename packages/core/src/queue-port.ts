import type { BatchWebhookEventType, WebhookEventType } from '@banatie/contracts';

/**
 * Ports to the job queue and to the state every instance shares. Adapter:
 * `@banatie/queue` (BullMQ and Redis), wired by the apps. Core names the
 * operations by what they mean to a generation; job ids, queue names, job
 * options and connections are the adapter's business.
 */

/** One run of a generation: what a generation job stands for (a regeneration is a new run). */
export interface GenerationRun {
  generationId: string;
  run: number;
}

/** A run to queue, with what the fair scheduler needs to place it. */
export interface GenerationJob extends GenerationRun {
  projectId: string;
  /** The run's image model: its provider quota is taken before the worker reads the row. */
  model?: string;
  /** A live MISS or a `Prefer: wait` submit: taken before the project's plain submits. */
  interactive?: boolean;
}

/**
 * A webhook event of one run, as a delivery job carries it (ids only: the body is built at delivery).
 * For `batch.completed`, `generationId` is the batch's id and `run` is 0.
 */
export interface WebhookDeliveryJob extends GenerationRun {
  event: WebhookEventType | BatchWebhookEventType;
}

/** A delivery and its Standard Webhooks `webhook-id`, which is also its identity in the queue. */
export interface WebhookMessage extends WebhookDeliveryJob {
  webhookId: string;
}

/**
 * What the queue knows of a run's job, for the sweeper:
 * - `owned`: waiting, delayed or running; the queue still handles it (a lost
 *   worker is its stall check's business);
 * - `missing`: never added, or lost with Redis data;
 * - `completed`: finished without the row being settled;
 * - `abandoned`: the queue gave up on it; `stalledOut` when its workers kept
 *   disappearing (stalled more often than allowed) rather than failing it.
 */
export type GenerationJobState =
  | { kind: 'owned' }
  | { kind: 'missing' }
  | { kind: 'completed' }
  | { kind: 'abandoned'; stalledOut: boolean; reason: string | null };

/** The job queue shared by API and workers. */
export interface JobQueue {
  /**
   * Queues the run for a worker at its place in the fair order; queuing the same run
   * again is a no-op. Resolves with how many queued jobs are ahead of it (null when
   * unknown). Rejects at once (never hangs) when the queue cannot take it now.
   */
  enqueueGeneration(job: GenerationJob): Promise<number | null>;
  /**
   * Best effort and bounded in time: takes the run's job out of the queue unless
   * a worker holds it, or the queue is unreachable (the job then finds its row
   * settled and skips itself). Rejects only when the queue refused the removal.
   */
  withdrawGeneration(run: GenerationRun): Promise<void>;
  generationJobState(run: GenerationRun): Promise<GenerationJobState>;
  /** Drops whatever job the run still has (not one a worker holds) and queues it afresh. */
  requeueGeneration(job: GenerationJob): Promise<void>;
  /**
   * For each run, how many queued jobs will be taken before its job (SPEC §12
   * `queuePosition`); null when its job is not waiting in the queue (delayed, running,
   * gone) or the queue cannot say now. Never rejects.
   */
  queuePositions(runs: GenerationRun[]): Promise<Map<string, number | null>>;
  /** Queues a webhook delivery; a message already queued or delivered (same `webhookId`) is not queued twice. */
  enqueueWebhook(message: WebhookMessage): Promise<void>;
}

/** A status change, as every API instance sees it. */
export interface GenerationStatusEvent {
  generationId: string;
  status: string;
  /** Also published to the project's stream when known (the Studio's project-wide list). */
  projectId?: string;
}

/** Publishes status changes to every instance (waiters, SSE streams, live URLs). */
export interface StatusBroadcast {
  publish(event: GenerationStatusEvent): Promise<void>;
}

export type StatusListener = (event: GenerationStatusEvent) => void;

/**
 * Listens to status changes. Subscribe before reading the row, then wait: no
 * change slips between the two. Rejects when the broadcast is unreachable;
 * resolves with the unsubscribe function.
 */
export interface StatusSubscriptions {
  subscribe(generationId: string, listener: StatusListener): Promise<() => Promise<void>>;
  /** Every status change of a project's generations. */
  subscribeProject(projectId: string, listener: StatusListener): Promise<() => Promise<void>>;
}

/** Locks and counters every instance sees (Redis); keys are relative, the adapter namespaces them. */
export interface SharedState {
  /** The value the lock holds, or null when nobody holds it. */
  lockHolder(key: string): Promise<string | null>;
  /** Takes the lock for `holder` unless someone holds it; it expires after ttlMs. True when taken. */
  tryLock(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock if `holder` still holds it (one taken over by another holder is left alone). Never rejects. */
  unlock(key: string, holder: string): Promise<void>;
  /** Adds one to a counter that expires ttlMs after this call; resolves with the new count. */
  increment(key: string, ttlMs: number): Promise<number>;
}

/**
 * Provider quota shared by every worker (SPEC §12): `PROVIDER_RATE_LIMITS` per model,
 * and a pause of every call to a model after it answered 429. Adapter: Redis.
 */
export interface ProviderQuota {
  /** Takes one call of the model's quota: 0 when taken, else how many ms until one may be (nothing is taken then). */
  take(model: string): Promise<number>;
  /** No worker calls the model for `ms` (extends, never shortens, a pause under way). */
  pause(model: string, ms: number): Promise<void>;
}
