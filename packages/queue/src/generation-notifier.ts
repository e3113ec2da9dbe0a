import type { Redis } from 'ioredis';
import { publishGenerationEvent } from './generation-events.js';
import { enqueueWebhook, webhookEventFor, type WebhookQueue } from './webhook.queue.js';

export interface GenerationStatusChange {
  id: string;
  project_id: string;
  status: string;
  /** Regeneration counter; part of the webhook-id so each run has its own message. */
  run?: number;
  /** False when the caller knows there is no webhook URL: no delivery job is queued (the sweeper covers a URL set meanwhile). */
  webhookTarget?: boolean;
}

export type GenerationNotifier = (row: GenerationStatusChange) => Promise<void>;

/**
 * What happens after every committed status change, in the API (cancel) and the
 * worker alike: publish on the generation's Redis channel (Prefer: wait, SSE) and,
 * on a terminal status, queue the webhook (its id is deterministic, so a re-run
 * never makes a second message; the delivery job finds the URL, if any).
 */
export function createGenerationNotifier(opts: { redis: Redis; prefix: string; webhooks?: WebhookQueue }): GenerationNotifier {
  return async (row) => {
    const event = webhookEventFor(row.status);
    const results = await Promise.allSettled([
      publishGenerationEvent(opts.redis, opts.prefix, { generationId: row.id, status: row.status, projectId: row.project_id }),
      event && opts.webhooks && row.webhookTarget !== false ? enqueueWebhook(opts.webhooks, { generationId: row.id, run: row.run ?? 0, event }) : Promise.resolve(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
}
