import { BATCH_WEBHOOK_EVENTS, WEBHOOK_EVENTS } from '@banatie/contracts';
import type { WebhookMessage } from '@banatie/core';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from './redis.js';
import { z } from 'zod';
import { untilQueueConnected } from './generation.queue.js';

export const WEBHOOK_QUEUE = 'webhooks';

/** Job data carries ids only: the body is built from the row at delivery time. */
export const webhookJobSchema = z.object({
  generationId: z.uuid(),
  run: z.number().int().min(0),
  event: z.enum([...WEBHOOK_EVENTS, ...BATCH_WEBHOOK_EVENTS]),
});
export type WebhookJobData = z.infer<typeof webhookJobSchema>;

export const WEBHOOK_BACKOFF_TYPE = 'webhook-jitter';
/** No single wait is longer than this; retries continue past 24 h in total. */
export const WEBHOOK_MAX_DELAY_MS = 6 * 3600 * 1000;
export const WEBHOOK_RETRY_WINDOW_MS = 24 * 3600 * 1000;
/** Jitter draws each delay from [JITTER_FLOOR × d, d]. */
const JITTER_FLOOR = 0.5;

/** Exponential delay before retry number `retry` (1-based), capped, without jitter. */
export function webhookBaseDelayMs(retry: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, retry - 1), WEBHOOK_MAX_DELAY_MS);
}

/** Exponential backoff with jitter (random in [50 %, 100 %] of the base delay). */
export function webhookRetryDelayMs(retry: number, baseMs: number, random: () => number = Math.random): number {
  const d = webhookBaseDelayMs(retry, baseMs);
  return Math.round(d * (JITTER_FLOOR + (1 - JITTER_FLOOR) * random()));
}

/** Attempts needed so that, even with the shortest jitter, retries span at least 24 h. */
export function webhookAttempts(baseMs: number): number {
  let total = 0;
  let retries = 0;
  while (total < WEBHOOK_RETRY_WINDOW_MS) {
    retries++;
    total += webhookBaseDelayMs(retries, baseMs) * JITTER_FLOOR;
  }
  return retries + 1;
}

export function webhookJobOptions(baseMs: number): JobsOptions {
  return {
    attempts: webhookAttempts(baseMs),
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    // Delivered-once is guaranteed by the success record in PostgreSQL, not by keeping jobs.
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export type WebhookQueue = Queue<WebhookJobData>;

export function createWebhookQueue(connection: RedisClient, prefix: string, retryBaseMs: number): WebhookQueue {
  return new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection, prefix, defaultJobOptions: webhookJobOptions(retryBaseMs) });
}

/**
 * Adds the delivery job under the message's webhook-id (a no-op when the same
 * message is already queued or done); the job data stays ids only.
 */
export async function enqueueWebhook(queue: WebhookQueue, message: WebhookMessage, timeoutMs = 2000): Promise<void> {
  await untilQueueConnected(queue);
  const { generationId, run, event } = message;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      queue.add(event, { generationId, run, event }, { jobId: message.webhookId }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('webhook enqueue timed out')), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
