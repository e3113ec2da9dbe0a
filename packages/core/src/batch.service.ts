import { createGenerationBody } from '@banatie/contracts';
import { batchRepository, generationRepository, limitsRepository, projectRepository, type BatchCounts, type BatchRow, type BatchTier, type Db, type GenerationRow } from '@banatie/db';
import type { ZodError } from 'zod';
import { checkAssignedAliases, isUuid } from './alias.js';
import type { ProjectContext } from './auth.js';
import { cancelGeneration } from './cancel.service.js';
import { AppError, ConflictError, IdempotencyMismatchError, NotFoundError, ValidationError } from './errors.js';
import {
  IDEMPOTENCY_WINDOW_MS,
  deadlineFor,
  prepareGeneration,
  preparedValues,
  requestHash,
  type GenerationDeps,
  type PreparedGeneration,
  type SubmitGenerationInput,
} from './generation.service.js';
import { assertAdmitted } from './limits.service.js';
import type { Clock } from './ports.js';
import type { JobQueue } from './queue-port.js';
import { webhookMessage } from './webhook-message.js';

export interface BatchDto {
  id: string;
  status: 'pending' | 'running' | 'completed' | 'cancelled';
  tier: BatchTier;
  counts: BatchCounts;
  generationIds: string[];
  webhookUrl: string | null;
  usage: unknown;
  createdAt: string;
  completedAt: string | null;
}

export interface CreateBatchInput {
  items: unknown[];
  tier?: BatchTier;
  webhookUrl?: string;
}

export interface BatchDeps extends GenerationDeps {
  /**
   * Whether batch-tier items wait for the Gemini Batch API instead of the
   * normal queue. False with the local provider (SPEC §13: it runs like standard).
   */
  batchTierQueued?: boolean;
}

/**
 * POST /batches: every item is checked first (one bad item is a 400 naming its
 * index and nothing is created), then the batch and all its generations are
 * created in one transaction, then queued.
 */
export async function createBatch(
  deps: BatchDeps,
  ctx: ProjectContext,
  input: CreateBatchInput,
  opts: { idempotencyKey?: string } = {},
): Promise<{ batch: BatchDto; created: boolean }> {
  const project = await projectRepository.findProjectById(deps.db, ctx.projectId);
  if (!project) throw new NotFoundError('Project not found');
  if (input.webhookUrl !== undefined) await deps.checkWebhookUrl?.(input.webhookUrl);
  const prepared: PreparedGeneration[] = [];
  for (const [index, item] of input.items.entries()) prepared.push(await prepareItem(deps, ctx, project.settings, item, index));

  const tier = input.tier ?? 'standard';
  // Batch-tier items wait for the provider's batch API (no queue job); the worker's batch loop picks them up.
  const providerBatch = tier === 'batch' && Boolean(deps.batchTierQueued);
  const hash = opts.idempotencyKey ? requestHash(input) : null;
  const now = deps.clock.now();
  if (opts.idempotencyKey) {
    await batchRepository.expireBatchIdempotencyKey(deps.db, ctx.projectId, opts.idempotencyKey, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS));
  }
  const made = await deps.db.transaction().execute(async (tx) => {
    const batch = await batchRepository.insertBatch(tx, {
      project_id: ctx.projectId,
      tier,
      total: prepared.length,
      webhook_url: input.webhookUrl ?? null,
      idempotency_key: opts.idempotencyKey ?? null,
      request_hash: hash,
      created_at: now,
      updated_at: now,
    });
    if (!batch) return undefined;
    const rows: GenerationRow[] = [];
    // Batch-tier items wait for the provider's batch window (up to a day): only standard-tier items get the deadline.
    const deadlineAt = providerBatch ? null : deadlineFor(deps, now);
    for (const item of prepared) {
      // Every item is admitted like a submit (SPEC §12): past a limit the whole batch is refused, nothing created.
      assertAdmitted(await limitsRepository.admitGeneration(tx, ctx.projectId, now), now);
      const values = await preparedValues(tx, ctx, project.settings, item, { batchId: batch.id, at: now, providerBatch, deadlineAt });
      rows.push(await generationRepository.insertGeneration(tx, values));
    }
    return { batch, rows };
  });
  if (!made) return replay(deps, ctx, opts.idempotencyKey!, hash);

  if (!providerBatch) await enqueueAll(deps, made.rows);
  return { batch: (await presentBatches(deps.db, [made.batch]))[0]!, created: true };
}

async function prepareItem(deps: GenerationDeps, ctx: ProjectContext, settings: Parameters<typeof prepareGeneration>[2], item: unknown, index: number): Promise<PreparedGeneration> {
  const parsed = createGenerationBody.safeParse(item);
  if (!parsed.success) throw itemError(index, firstIssue(parsed.error));
  try {
    const input: SubmitGenerationInput = parsed.data;
    checkAssignedAliases(input);
    if (input.webhookUrl !== undefined) await deps.checkWebhookUrl?.(input.webhookUrl);
    return await prepareGeneration(deps, ctx, settings, input);
  } catch (err) {
    // A missing reference image or flow is the item's fault too: the batch is refused as a whole.
    if (err instanceof AppError && (err.kind === 'invalid' || err.kind === 'not_found')) throw itemError(index, err.message, err.code);
    throw err;
  }
}

function itemError(index: number, message: string, code = 'VALIDATION_ERROR'): ValidationError {
  return new ValidationError(`items[${index}]: ${message}`, { index, code });
}

function firstIssue(error: ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  return `${path}${issue?.message ?? 'Invalid generation request'}`;
}

async function replay(deps: BatchDeps, ctx: ProjectContext, key: string, hash: string | null): Promise<{ batch: BatchDto; created: boolean }> {
  const existing = await batchRepository.findBatchByIdempotencyKey(deps.db, ctx.projectId, key);
  if (!existing) throw new ConflictError('A batch with this Idempotency-Key is being created; retry');
  if (existing.request_hash !== hash) throw new IdempotencyMismatchError();
  return { batch: (await presentBatches(deps.db, [existing]))[0]!, created: false };
}

/** Queues every item; one the queue refuses stays pending and the sweeper queues it once the queue is back. */
async function enqueueAll(deps: GenerationDeps, rows: GenerationRow[]): Promise<void> {
  const results = await Promise.allSettled(rows.map((row) => deps.queue.enqueueGeneration({ generationId: row.id, run: row.run, projectId: row.project_id, model: row.model ?? undefined })));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed) deps.logger?.warn({ failed, total: rows.length }, 'some batch items were not queued; the sweeper will queue them');
}

export async function getBatch(deps: Pick<GenerationDeps, 'db'>, ctx: ProjectContext, id: string): Promise<BatchDto> {
  const row = isUuid(id) ? await batchRepository.findBatch(deps.db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!row) throw new NotFoundError('Batch not found');
  return (await presentBatches(deps.db, [row]))[0]!;
}

export async function listBatches(
  deps: Pick<GenerationDeps, 'db'>,
  ctx: ProjectContext,
  page: { limit: number; offset: number },
): Promise<{ items: BatchDto[]; total: number }> {
  const { rows, total } = await batchRepository.listBatches(deps.db, ctx.projectId, page);
  return { items: await presentBatches(deps.db, rows), total };
}

/** Cancels every item that has not finished (each as POST /generations/:id/cancel would); a finished batch is 409. */
export async function cancelBatch(deps: GenerationDeps, ctx: ProjectContext, id: string): Promise<BatchDto> {
  const row = isUuid(id) ? await batchRepository.findBatch(deps.db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!row) throw new NotFoundError('Batch not found');
  const unfinished = await batchRepository.unfinishedBatchGenerations(deps.db, row.id);
  if (row.completed_at || unfinished.length === 0) throw new ConflictError('Batch is already completed and cannot be cancelled');
  await batchRepository.markBatchCancelled(deps.db, ctx.projectId, row.id, deps.clock.now());
  for (const item of unfinished) {
    await cancelGeneration(deps, ctx, item.id).catch((err: unknown) => {
      // Finished meanwhile: nothing left to cancel for that item.
      if (!(err instanceof ConflictError)) throw err;
    });
  }
  return getBatch(deps, ctx, row.id);
}

export interface BatchSettleDeps {
  db: Db;
  clock: Clock;
  jobs: Pick<JobQueue, 'enqueueWebhook'>;
}

/**
 * After an item of the batch ended: when none is left unfinished, records the
 * completion (once, whoever gets there first) and queues `batch.completed`.
 */
export async function settleBatch(deps: BatchSettleDeps, batchId: string): Promise<boolean> {
  const done = await batchRepository.markBatchCompletedIfDone(deps.db, batchId, deps.clock.now());
  if (!done) return false;
  await deps.jobs.enqueueWebhook(webhookMessage({ generationId: done.id, run: 0, event: 'batch.completed' }));
  return true;
}

/** Batch objects with their items' counts and ids (one query for the page). */
export async function presentBatches(db: Db, rows: BatchRow[]): Promise<BatchDto[]> {
  const items = await batchRepository.batchItems(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((row) => {
    const { counts, generationIds } = items.get(row.id)!;
    return {
      id: row.id,
      status: batchStatus(row, counts),
      tier: row.tier,
      counts,
      generationIds,
      webhookUrl: row.webhook_url,
      usage: null,
      createdAt: row.created_at.toISOString(),
      completedAt: row.completed_at?.toISOString() ?? null,
    };
  });
}

function batchStatus(row: BatchRow, counts: BatchCounts): BatchDto['status'] {
  const unfinished = counts.pending + counts.processing;
  if (unfinished === 0) return row.cancelled_at ? 'cancelled' : 'completed';
  return unfinished === counts.total && counts.processing === 0 ? 'pending' : 'running';
}
