import type { GenerationRow } from '@banatie/db';
import type { JobQueue, StatusBroadcast } from './queue-port.js';
import { settleBatch, type BatchSettleDeps } from './batch.service.js';
import { webhookEventFor, webhookMessage } from './webhook-message.js';

export interface GenerationStatusChange extends Pick<GenerationRow, 'id' | 'project_id' | 'status'> {
  /** Set on a batch's items: a terminal change may complete the batch. */
  batch_id?: string | null;
  /** Regeneration counter; part of the webhook-id so each run has its own message. */
  run?: number;
  /** False when the caller knows there is no webhook URL: no delivery job is queued (the sweeper covers a URL set meanwhile). */
  webhookTarget?: boolean;
}

export type StatusNotifier = (row: GenerationStatusChange) => Promise<void>;

/**
 * What happens after every committed status change, in the API (cancel) and the
 * worker alike: broadcast it (Prefer: wait, SSE, live URLs) and, on a terminal
 * status, queue the webhook (its id is deterministic, so a re-run never makes a
 * second message; the delivery job finds the URL, if any).
 */
export function createStatusNotifier(ports: { broadcast: StatusBroadcast; jobs: JobQueue; batches?: Omit<BatchSettleDeps, 'jobs'> }): StatusNotifier {
  return async (row) => {
    const event = webhookEventFor(row.status);
    const batches = ports.batches;
    const results = await Promise.allSettled([
      ports.broadcast.publish({ generationId: row.id, status: row.status, projectId: row.project_id }),
      event && row.webhookTarget !== false
        ? ports.jobs.enqueueWebhook(webhookMessage({ generationId: row.id, run: row.run ?? 0, event }))
        : Promise.resolve(),
      event && row.batch_id && batches ? settleBatch({ ...batches, jobs: ports.jobs }, row.batch_id) : Promise.resolve(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
}
