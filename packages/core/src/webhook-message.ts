import { createHash } from 'node:crypto';
import type { WebhookEventType } from '@banatie/contracts';
import type { WebhookDeliveryJob, WebhookMessage } from './queue-port.js';

const EVENT_BY_STATUS: Record<string, WebhookEventType> = {
  success: 'generation.succeeded',
  failed: 'generation.failed',
  cancelled: 'generation.cancelled',
};

/** The webhook event a terminal status produces; undefined for pending/processing. */
export function webhookEventFor(status: string): WebhookEventType | undefined {
  return EVENT_BY_STATUS[status];
}

/**
 * The Standard Webhooks `webhook-id`, derived from (generation, run, event): a
 * re-run of the same job, or a second enqueue of the same event, reuses it, so a
 * receiver (and our success index) sees one message. Also the delivery's identity in the queue.
 */
export function webhookMessageId(delivery: WebhookDeliveryJob): string {
  const h = createHash('sha256').update(`${delivery.generationId}|${delivery.run}|${delivery.event}`).digest('base64url');
  return `msg_${h.slice(0, 32)}`;
}

export function webhookMessage(delivery: WebhookDeliveryJob): WebhookMessage {
  return { ...delivery, webhookId: webhookMessageId(delivery) };
}
