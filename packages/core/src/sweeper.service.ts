import { batchRepository, generationRepository, webhookDeliveryRepository, type Db, type GenerationRow } from '@banatie/db';
import { settleBatch } from './batch.service.js';
import type { Logger } from '@banatie/logger';
import { failGeneration } from './generation-processor.js';
import type { Clock } from './ports.js';
import type { JobQueue } from './queue-port.js';
import { webhookEventFor, webhookMessage } from './webhook-message.js';

export interface SweeperDeps {
  db: Db;
  queue: JobQueue;
  clock: Clock;
  logger: Logger;
  onStatusChange?: (row: GenerationRow) => Promise<void>;
}

export interface SweepReport {
  requeued: string[];
  failed: string[];
  /** Failed because their deadline passed (DEADLINE_EXCEEDED or RATE_LIMITED). */
  expired: string[];
  webhooksRequeued: string[];
  /** Batches whose last item ended without the completion being recorded (its notification was lost). */
  batchesCompleted: string[];
}

const BATCH = 200;
const WEBHOOK_REPAIR_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Fails unfinished runs past their deadline (SPEC §12): DEADLINE_EXCEEDED, or
 * RATE_LIMITED when they were waiting for provider quota; removes their job (one a
 * worker holds finds the row settled and discards its result) and sends the webhook.
 *
 * Then settles what a crash can leave behind. Rows unchanged for `staleAfterMs`:
 * `pending`/`processing` whose job is gone (or finished without settling the row)
 * are re-enqueued under the same job id; those whose job failed for good
 * (stalled out, attempts exhausted) are marked failed. Terminal rows of the last
 * 24 h with a webhook target and no recorded attempt get their webhook queued
 * again (its id is deterministic, so a queued one is not duplicated).
 */
export async function sweepGenerations(deps: SweeperDeps, opts: { staleAfterMs: number }): Promise<SweepReport> {
  const now = deps.clock.now();
  const before = new Date(now.getTime() - opts.staleAfterMs);
  const report: SweepReport = { requeued: [], failed: [], expired: [], webhooksRequeued: [], batchesCompleted: [] };
  // Deadlines first: whether or not any worker is taking jobs, a run past its deadline fails now.
  for (const row of await generationRepository.findPastDeadline(deps.db, now, BATCH)) {
    await expireRow(deps, row, now, report);
  }
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
    await deps.queue.enqueueWebhook(webhookMessage({ generationId: g.id, run: g.run, event }));
    report.webhooksRequeued.push(g.id);
  }
  for (const batchId of await batchRepository.findUnsettledBatches(deps.db, BATCH)) {
    if (await settleBatch({ db: deps.db, clock: deps.clock, jobs: deps.queue }, batchId)) report.batchesCompleted.push(batchId);
  }
  return report;
}

async function settleRow(deps: SweeperDeps, row: GenerationRow, report: SweepReport): Promise<void> {
  const run = { generationId: row.id, run: row.run };
  const job = await deps.queue.generationJobState(run);
  if (job.kind === 'owned') return;
  const log = deps.logger.child({ generationId: row.id, run: row.run, jobState: job.kind });
  if (job.kind === 'abandoned') {
    const message = job.stalledOut ? 'The worker processing this generation stopped responding' : 'Image generation failed unexpectedly';
    await failGeneration(deps, run, 'INTERNAL_ERROR', message);
    log.warn({ reason: job.reason }, 'sweeper failed a generation whose job gave up');
    report.failed.push(row.id);
    return;
  }
  // Missing (never added, or lost with Redis data) or completed without settling the row: run it again,
  // unless the row settled after it was read (a job that completed just now).
  const current = await generationRepository.findGenerationById(deps.db, row.id);
  if (!current || current.run !== row.run || !['pending', 'processing'].includes(current.status)) return;
  await deps.queue.requeueGeneration({ ...run, projectId: row.project_id, model: row.model ?? undefined });
  log.warn('sweeper re-enqueued a generation whose job was gone');
  report.requeued.push(row.id);
}

async function expireRow(deps: SweeperDeps, row: GenerationRow, now: Date, report: SweepReport): Promise<void> {
  const failed = await generationRepository.failPastDeadline(deps.db, row.id, row.run, now);
  if (!failed) return;
  report.expired.push(row.id);
  const log = deps.logger.child({ generationId: row.id, run: row.run, code: failed.error_code });
  await deps.queue.withdrawGeneration({ generationId: row.id, run: row.run }).catch((err) => log.warn({ err }, 'could not remove the job of an expired generation'));
  await deps.onStatusChange?.(failed).catch((err) => log.warn({ err }, 'status notification failed'));
  log.info('generation passed its deadline');
}
