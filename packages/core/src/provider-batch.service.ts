import { geminiBatchRepository, generationRepository, projectRepository, type GeminiBatchRow, type GenerationRow, type ProjectSettings } from '@banatie/db';
import { ProviderError, type GenerationErrorCode } from './errors.js';
import { buildImageRequest, settleWithFailure, settleWithOutput, type ProcessorDeps } from './generation-processor.js';
import type { BatchImageRequest, BatchItemResult, ImageBatchProvider, ProviderBatchState } from './ports.js';

/**
 * The batch tier through a provider's batch API (SPEC §13). Any worker runs the
 * same tick; PostgreSQL decides who does what:
 * - gather: per model, once `maxItems` wait or the oldest has waited `intervalMs`,
 *   the waiting items are claimed into a new provider-batch row (SKIP LOCKED);
 * - submit: a leased `submitting` row builds its requests and submits them under
 *   its own id as display name, then stores the provider's job name at once. A
 *   second attempt (the first worker died, maybe after the provider answered)
 *   first looks the job up by that display name, so nothing is submitted twice;
 * - poll: a leased `running` row is read from the provider every `pollMs`; when it
 *   ends, each item is settled from its result (or failed with the job's fate).
 */
export interface ProviderBatchDeps extends ProcessorDeps {
  batchProvider: ImageBatchProvider;
  intervalMs: number;
  maxItems: number;
  pollMs: number;
  /** How long a submit may take before another worker may retry it. */
  submitLeaseMs: number;
  /**
   * The requests of one job stay under this many bytes (the Batch API's input file limit);
   * default 1.9 GB. Whether they go inlined or as a file is the provider's choice.
   */
  maxBatchBytes?: number;
}

/** The Gemini Batch API takes an input file up to 2 GB; a margin is left for the estimate's error. */
const DEFAULT_MAX_BATCH_BYTES = 1900 * 1024 * 1024;

const LEASE_LIMIT = 10;

export interface BatchTickReport {
  claimed: string[];
  submitted: string[];
  settled: string[];
}

export async function runProviderBatchTick(deps: ProviderBatchDeps): Promise<BatchTickReport> {
  const report: BatchTickReport = { claimed: [], submitted: [], settled: [] };
  await gather(deps, report);
  for (const batch of await geminiBatchRepository.leaseProviderBatches(deps.db, 'submitting', deps.clock.now(), deps.submitLeaseMs, LEASE_LIMIT)) {
    await submit(deps, batch, report);
  }
  for (const batch of await geminiBatchRepository.leaseProviderBatches(deps.db, 'running', deps.clock.now(), deps.pollMs, LEASE_LIMIT)) {
    await poll(deps, batch, report);
  }
  return report;
}

async function gather(deps: ProviderBatchDeps, report: BatchTickReport): Promise<void> {
  const now = deps.clock.now();
  for (const waiting of await geminiBatchRepository.waitingProviderBatchItems(deps.db)) {
    const due = waiting.count >= deps.maxItems || now.getTime() - waiting.oldest.getTime() >= deps.intervalMs;
    if (!due) continue;
    const claimed = await geminiBatchRepository.claimProviderBatch(deps.db, waiting.model, deps.maxItems, now);
    if (claimed) report.claimed.push(claimed.batch.id);
  }
}

async function submit(deps: ProviderBatchDeps, batch: GeminiBatchRow, report: BatchTickReport): Promise<void> {
  const log = deps.logger.child({ providerBatchId: batch.id, model: batch.model });
  try {
    // A retried submit: the provider may already hold the job (the answer was lost before its name was stored).
    const existing = batch.submit_attempts > 1 ? await deps.batchProvider.findBatch(batch.id) : undefined;
    if (existing) await markItemsProcessing(deps, batch);
    const name = existing ?? (await submitItems(deps, batch));
    if (!name) return;
    await geminiBatchRepository.setProviderBatchName(deps.db, batch.id, name, deps.clock.now());
    log.info({ name, found: Boolean(existing) }, 'provider batch submitted');
    report.submitted.push(batch.id);
  } catch (err) {
    if (err instanceof ProviderError && !err.retryable) {
      log.warn({ err }, 'provider refused the batch; failing its items');
      await failItems(deps, batch, { code: err.code, message: err.message });
      await geminiBatchRepository.finishProviderBatch(deps.db, batch.id, 'failed', deps.clock.now());
      return;
    }
    log.warn({ err }, 'provider batch submit failed; another attempt follows when the lease ends');
  }
}

/** The batch's unfinished items marked processing (each counts an attempt), with their project settings. */
async function markItemsProcessing(deps: ProviderBatchDeps, batch: GeminiBatchRow): Promise<Array<{ row: GenerationRow; projectSettings: ProjectSettings | null }>> {
  const marked = [];
  for (const item of await geminiBatchRepository.providerBatchItems(deps.db, batch.id)) {
    const found = await generationRepository.markGenerationProcessingWithSettings(deps.db, item.id, item.run, deps.clock.now());
    // Cancelled or regenerated meanwhile: not part of the job.
    if (!found) continue;
    await deps.onStatusChange?.(found.row).catch((err: unknown) => deps.logger.warn({ err, generationId: item.id }, 'status notification failed'));
    marked.push(found);
  }
  return marked;
}

/** Marks the items processing, builds their requests and submits them; undefined when none is left to submit. */
async function submitItems(deps: ProviderBatchDeps, batch: GeminiBatchRow): Promise<string | undefined> {
  const requests: BatchImageRequest[] = [];
  const limit = deps.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const overflow: string[] = [];
  let bytes = 0;
  for (const marked of await markItemsProcessing(deps, batch)) {
    if (overflow.length) {
      overflow.push(marked.row.id);
      continue;
    }
    try {
      const request: BatchImageRequest = { key: marked.row.id, ...(await buildImageRequest(deps, marked.row, marked.projectSettings)) };
      // Past the limit the rest waits for the next job (the first item always goes: the provider judges it).
      if (requests.length > 0 && bytes + batchRequestBytes(request) > limit) {
        overflow.push(marked.row.id);
        continue;
      }
      bytes += batchRequestBytes(request);
      requests.push(request);
    } catch (err) {
      if (!(err instanceof ProviderError) || err.retryable) throw err;
      await settleWithFailure(deps, marked.row, marked.projectSettings, { code: err.code, message: err.message }, null);
    }
  }
  await geminiBatchRepository.releaseProviderBatchItems(deps.db, overflow, deps.clock.now());
  if (requests.length === 0) {
    await geminiBatchRepository.finishProviderBatch(deps.db, batch.id, 'cancelled', deps.clock.now());
    return undefined;
  }
  return deps.batchProvider.submitBatch(batch.model, batch.id, requests);
}

/** About what a request weighs sent as JSON (inlined or a file's line): its prompt, its references as base64, and the JSON around them. */
export function batchRequestBytes(req: BatchImageRequest): number {
  const references = req.referenceImages.reduce((sum, r) => sum + Math.ceil(r.data.length / 3) * 4 + 100, 0);
  return Buffer.byteLength(req.prompt) + references + 1024;
}

async function poll(deps: ProviderBatchDeps, batch: GeminiBatchRow, report: BatchTickReport): Promise<void> {
  const log = deps.logger.child({ providerBatchId: batch.id, name: batch.name });
  let outcome: { state: ProviderBatchState; results: AsyncIterable<BatchItemResult> };
  try {
    outcome = await deps.batchProvider.getBatch(batch.name!);
  } catch (err) {
    log.warn({ err }, 'provider batch poll failed; polling again later');
    return;
  }
  if (outcome.state === 'pending' || outcome.state === 'running') return;
  let settled = 0;
  try {
    if (outcome.state === 'succeeded') settled = await settleResults(deps, batch, outcome.results);
    else await failItems(deps, batch, JOB_FAILURES[outcome.state]);
  } catch (err) {
    // E.g. a results file cut off midway: what was settled stays settled, the rest at the next poll.
    log.warn({ err }, 'settling the provider batch failed; trying again at the next poll');
    return;
  }
  await geminiBatchRepository.finishProviderBatch(deps.db, batch.id, outcome.state, deps.clock.now());
  log.info({ state: outcome.state, results: settled }, 'provider batch settled');
  report.settled.push(batch.id);
}

const JOB_FAILURES: Record<'failed' | 'cancelled' | 'expired', { code: GenerationErrorCode; message: string }> = {
  failed: { code: 'BATCH_FAILED', message: 'The provider batch job failed' },
  cancelled: { code: 'BATCH_CANCELLED', message: 'The provider batch job was cancelled' },
  expired: { code: 'BATCH_EXPIRED', message: 'The provider batch job expired before it finished' },
};

/**
 * Each item from its result as the results arrive (one image in memory at a time), by
 * key; an item the answer left out failed with NO_IMAGE once all were read. Re-running
 * it is harmless (guarded updates). Returns how many results were read.
 */
async function settleResults(deps: ProviderBatchDeps, batch: GeminiBatchRow, results: AsyncIterable<BatchItemResult>): Promise<number> {
  const waiting = new Map<string, GenerationRow>();
  for (const item of await geminiBatchRepository.providerBatchItems(deps.db, batch.id)) {
    if (item.status === 'processing') waiting.set(item.id, item);
  }
  const settings = projectSettingsCache(deps);
  let read = 0;
  for await (const result of results) {
    read++;
    const item = waiting.get(result.key);
    if (!item) continue;
    waiting.delete(result.key);
    await settleItem(deps, item, await settings(item), result);
  }
  const missing = new ProviderError('NO_IMAGE', 'The provider batch answered nothing for this item', false);
  for (const item of waiting.values()) await settleItem(deps, item, await settings(item), { key: item.id, error: missing });
  return read;
}

async function settleItem(deps: ProviderBatchDeps, item: GenerationRow, settings: ProjectSettings | null, result: BatchItemResult): Promise<void> {
  const elapsed = item.started_at ? deps.clock.now().getTime() - item.started_at.getTime() : null;
  if (result.image) {
    await settleWithOutput(deps, item, settings, result.image, elapsed ?? 0);
    return;
  }
  const error = result.error ?? new ProviderError('NO_IMAGE', 'The provider batch answered nothing for this item', false);
  await settleWithFailure(deps, item, settings, { code: error.code, message: error.message }, elapsed, error.options.usage);
}

async function failItems(deps: ProviderBatchDeps, batch: GeminiBatchRow, error: { code: GenerationErrorCode; message: string }): Promise<void> {
  const settings = projectSettingsCache(deps);
  for (const item of await geminiBatchRepository.providerBatchItems(deps.db, batch.id)) {
    if (item.status === 'pending' || item.status === 'processing') await settleWithFailure(deps, item, await settings(item), error, null);
  }
}

/** Project settings (webhook target) read once per project while settling a batch. */
function projectSettingsCache(deps: ProviderBatchDeps): (row: GenerationRow) => Promise<ProjectSettings | null> {
  const cache = new Map<string, Promise<ProjectSettings | null>>();
  return (row) => {
    let found = cache.get(row.project_id);
    if (!found) {
      found = projectRepository.findProjectById(deps.db, row.project_id).then((p) => p?.settings ?? null);
      cache.set(row.project_id, found);
    }
    return found;
  };
}
