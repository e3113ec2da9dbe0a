import { generationRepository, webhookDeliveryRepository, type Db, type GenerationRow } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import {
  enqueueGeneration,
  enqueueWebhook,
  generationJobId,
  webhookEventFor,
  type GenerationQueue,
  type WebhookQueue,
} from '@banatie/queue';
import { failGeneration } from './generation-processor.js';
import type { Clock } from './ports.js';

export interface SweeperDeps {
  db: Db;
  queue: GenerationQueue;
  webhooks: WebhookQueue;
  clock: Clock;
  logger: Logger;
  onStatusChange?: (row: GenerationRow) => Promise<void>;
}

export interface SweepReport {
  requeued: string[];
  failed: string[];
  webhooksRequeued: string[];
}

const BATCH = 200;
const WEBHOOK_REPAIR_WINDOW_MS = 24 * 3600 * 1000;
/** States in which BullMQ itself still owns the job (an expired lock is its stalled check's business). */
const LIVE_STATES = new Set(['waiting', 'wait', 'delayed', 'prioritized', 'active', 'waiting-children']);

/**
 * Settles what a crash can leave behind. Rows unchanged for `staleAfterMs`:
 * `pending`/`processing` whose job is gone (or finished without settling the row)
 * are re-enqueued under the same job id; those whose job failed for good
 * (stalled out, attempts exhausted) are marked failed. Terminal rows of the last
 * 24 h with a webhook target and no recorded attempt get their webhook queued
 * again (its id is deterministic, so a queued one is not duplicated).
 */
export async function sweepGenerations(deps: SweeperDeps, opts: { staleAfterMs: number }): Promise<SweepReport> {
  const now = deps.clock.now();
  const before = new Date(now.getTime() - opts.staleAfterMs);
  const report: SweepReport = { requeued: [], failed: [], webhooksRequeued: [] };
  for (const row of await generationRepository.findUnsettledGenerations(deps.db, before, BATCH)) {
    await settleRow(deps, row, report);
  }
  const undelivered = await webhookDeliveryRepository.findUndeliveredTerminalGenerations(deps.db, {
    from: new Date(now.getTime() - WEBHOOK_REPAIR_WINDOW_MS),
    to: before,
    limit: BATCH,
  });
  for (const g of undelivered) {
    const event = webhookEventFor(g.status);
    if (!event) continue;
    await enqueueWebhook(deps.webhooks, { generationId: g.id, run: g.run, event });
    report.webhooksRequeued.push(g.id);
  }
  return report;
}

async function settleRow(deps: SweeperDeps, row: GenerationRow, report: SweepReport): Promise<void> {
  const jobId = generationJobId({ generationId: row.id, run: row.run });
  const job = await deps.queue.getJob(jobId);
  const state = job ? await job.getState() : 'missing';
  if (LIVE_STATES.has(state)) return;
  const log = deps.logger.child({ generationId: row.id, run: row.run, jobState: state });
  if (state === 'failed') {
    const stalled = /stalled/i.test(job?.failedReason ?? '');
    const message = stalled ? 'The worker processing this generation stopped responding' : 'Image generation failed unexpectedly';
    await failGeneration(deps, { generationId: row.id, run: row.run }, 'INTERNAL_ERROR', message);
    log.warn({ reason: job?.failedReason }, 'sweeper failed a generation whose job gave up');
    report.failed.push(row.id);
    return;
  }
  // Missing (never added, or lost with Redis data) or completed without settling the row: run it again,
  // unless the row settled after it was read (a job that completed just now).
  const current = await generationRepository.findGenerationById(deps.db, row.id);
  if (!current || current.run !== row.run || !['pending', 'processing'].includes(current.status)) return;
  if (job) await job.remove();
  await enqueueGeneration(deps.queue, { generationId: row.id, run: row.run });
  log.warn('sweeper re-enqueued a generation whose job was gone');
  report.requeued.push(row.id);
}
