import { deliverWebhook, type WebhookDeps } from '@banatie/core';
import { webhookJobSchema, type WebhookJobData } from '@banatie/queue';
import { UnrecoverableError, type Job } from 'bullmq';

export class WebhookAttemptFailedError extends Error {
  constructor() {
    super('webhook attempt failed; will retry');
    this.name = 'WebhookAttemptFailedError';
  }
}

/**
 * One delivery attempt. A failed attempt throws so BullMQ retries it with the
 * jittered backoff; a refused URL ends the job. The generation is never touched.
 */
export function createDeliverWebhookHandler(deps: WebhookDeps) {
  return async (job: Job<WebhookJobData>): Promise<string> => {
    const parsed = webhookJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid job data');
    const outcome = await deliverWebhook(deps, parsed.data, job.attemptsMade + 1);
    if (outcome === 'retry') throw new WebhookAttemptFailedError();
    if (outcome === 'refused') throw new UnrecoverableError('webhook URL refused');
    return outcome;
  };
}
