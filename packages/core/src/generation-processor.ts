import { createHash } from 'node:crypto';
import { flowRepository, generationRepository, imageRepository, type Db, type GenerationRow, type ImageRow, type ProjectSettings, type Tx } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { sql } from 'kysely';
import { ProviderError, type GenerationErrorCode } from './errors.js';
import { readImageMetadata } from './image-metadata.js';
import type { ImageSize } from '@banatie/contracts';
import type { Clock, GenerateImageRequest, ImageProvider, InputImage, ObjectStorage, PromptTemplate } from './ports.js';
import { contentEtag, imageStorageKey, imageVariantPrefix } from './storage-keys.js';

export interface ProcessorDeps {
  db: Db;
  storage: ObjectStorage;
  imageProvider: ImageProvider;
  clock: Clock;
  logger: Logger;
  /** Called after every committed status change (Redis channel for waiters and SSE). */
  onStatusChange?: (row: GenerationRow) => Promise<void>;
}

export interface JobAttempt {
  generationId: string;
  run: number;
  /** True when a retryable failure now must fail the generation. */
  isFinalAttempt: boolean;
  signal?: AbortSignal;
}

export type ProcessOutcome = 'succeeded' | 'failed' | 'skipped';

/** Thrown for failures the queue should retry; carries the code used if attempts run out. */
export class RetryableGenerationError extends Error {
  constructor(
    readonly code: GenerationErrorCode,
    message: string,
    readonly rateLimitMs?: number,
  ) {
    super(message);
    this.name = 'RetryableGenerationError';
  }
}

export { imageStorageKey } from './storage-keys.js';

/** The output image id of a generation is derived from its id, so a rerun never makes a second image. */
export function outputImageIdFor(generationId: string): string {
  const h = createHash('sha256').update(`output-image:${generationId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function classify(err: unknown): { code: GenerationErrorCode; message: string; retryable: boolean; rateLimitMs?: number } {
  if (err instanceof ProviderError) {
    return {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      rateLimitMs: err.options.rateLimited ? (err.options.retryAfterMs ?? 10_000) : undefined,
    };
  }
  return { code: 'INTERNAL_ERROR', message: 'Image generation failed unexpectedly', retryable: true };
}

/**
 * Runs one attempt of a generation. Idempotent: a terminal row or a stale run is
 * skipped; the output key and image id are derived from ids; status updates are
 * guarded by the expected current status.
 */
export async function processGeneration(deps: ProcessorDeps, job: JobAttempt): Promise<ProcessOutcome> {
  const { db, clock } = deps;
  const log = deps.logger.child({ generationId: job.generationId, run: job.run });
  const marked = await generationRepository.markGenerationProcessingWithSettings(db, job.generationId, job.run, clock.now());
  if (!marked) {
    log.info('generation is terminal or superseded; skipping');
    return 'skipped';
  }
  const { row: started, projectSettings } = marked;
  await notify(deps, started);
  const t0 = Date.now();
  try {
    const prompt = await buildPrompt(deps, started, projectSettings, job.signal);
    const references = await loadReferences(deps, started);
    const output = await deps.imageProvider.generateImage({
      prompt,
      aspectRatio: started.aspect_ratio,
      referenceImages: references,
      ...modelOptionsOf(started),
      signal: job.signal,
    });
    // No separate "still processing?" read: the success update is guarded by id,
    // run and status, and a cancelled or superseded run rolls back and drops its bytes.
    const done = await storeOutput(deps, started, prompt, output, Date.now() - t0);
    if (!done) {
      log.info('generation cancelled or superseded while processing; result discarded');
      return 'skipped';
    }
    log.info({ ms: done.processing_time_ms }, 'generation succeeded');
    // A regeneration replaced the bytes: renditions of the old bytes are stale.
    if (started.output_image_id) await dropVariants(deps, started.project_id, done.output_image_id!);
    await notify(deps, withWebhookTarget(done, projectSettings));
    return 'succeeded';
  } catch (err) {
    const c = classify(err);
    if (c.retryable && !job.isFinalAttempt) {
      log.warn({ err, code: c.code }, 'generation attempt failed; will retry');
      throw new RetryableGenerationError(c.code, c.message, c.rateLimitMs);
    }
    if (!(err instanceof ProviderError)) log.error({ err }, 'generation failed');
    const failed = await generationRepository.markGenerationFailed(db, job.generationId, job.run, {
      code: c.code,
      message: c.message,
      processingTimeMs: Date.now() - t0,
      at: clock.now(),
    });
    if (failed) await notify(deps, withWebhookTarget(failed, projectSettings));
    return 'failed';
  }
}

/**
 * The request a run sends to the model: the prompt (enhanced, with the project's
 * style; stored on the row) and the reference images' bytes. The batch tier builds
 * it before submitting.
 */
export async function buildImageRequest(deps: ProcessorDeps, row: GenerationRow, settings: ProjectSettings | null, signal?: AbortSignal): Promise<GenerateImageRequest> {
  const prompt = await buildPrompt(deps, row, settings, signal);
  const referenceImages = await loadReferences(deps, row);
  return { prompt, aspectRatio: row.aspect_ratio, referenceImages, ...modelOptionsOf(row) };
}

/** Settles a processing run with the model's output exactly as processGeneration does; `skipped` when it was cancelled or superseded. */
export async function settleWithOutput(
  deps: ProcessorDeps,
  row: GenerationRow,
  settings: ProjectSettings | null,
  output: { data: Buffer; mimeType: string },
  processingTimeMs: number,
): Promise<ProcessOutcome> {
  const done = await storeOutput(deps, row, row.prompt, output, processingTimeMs);
  if (!done) return 'skipped';
  if (row.output_image_id) await dropVariants(deps, row.project_id, done.output_image_id!);
  await notify(deps, withWebhookTarget(done, settings));
  return 'succeeded';
}

/** Fails a run with a code and message (events and webhook as usual); `skipped` when it had already ended. */
export async function settleWithFailure(
  deps: ProcessorDeps,
  row: GenerationRow,
  settings: ProjectSettings | null,
  error: { code: GenerationErrorCode; message: string },
  processingTimeMs: number | null,
): Promise<ProcessOutcome> {
  const failed = await generationRepository.markGenerationFailed(deps.db, row.id, row.run, { ...error, processingTimeMs, at: deps.clock.now() });
  if (!failed) return 'skipped';
  await notify(deps, withWebhookTarget(failed, settings));
  return 'failed';
}

/** The row's model options; a row from before models were chosen uses the provider's default. */
export function modelOptionsOf(row: GenerationRow): Pick<GenerateImageRequest, 'model' | 'imageSize' | 'groundWithSearch'> {
  return {
    ...(row.model ? { model: row.model } : {}),
    ...(row.image_size ? { imageSize: row.image_size as ImageSize } : {}),
    ...(row.ground_with_search ? { groundWithSearch: true } : {}),
  };
}

/** Marks a generation failed when the queue gives up on it outside the processor (stalled job). */
export async function failGeneration(
  deps: Pick<ProcessorDeps, 'db' | 'clock' | 'onStatusChange' | 'logger'>,
  job: { generationId: string; run: number },
  code: GenerationErrorCode,
  message: string,
): Promise<void> {
  const failed = await generationRepository.markGenerationFailed(deps.db, job.generationId, job.run, {
    code,
    message,
    processingTimeMs: null,
    at: deps.clock.now(),
  });
  if (failed) await notify(deps, failed);
}

/**
 * Tells the notifier whether a webhook target was known when the job started, so
 * a project without one queues no delivery job (the sweeper still queues the
 * webhook of a generation whose project got a URL meanwhile).
 */
function withWebhookTarget(row: GenerationRow, settings: ProjectSettings | null): GenerationRow & { webhookTarget: boolean } {
  return { ...row, webhookTarget: Boolean(row.webhook_url ?? settings?.webhookUrl) };
}

async function notify(deps: Pick<ProcessorDeps, 'onStatusChange' | 'logger'>, row: GenerationRow): Promise<void> {
  try {
    await deps.onStatusChange?.(row);
  } catch (err) {
    deps.logger.warn({ err, generationId: row.id }, 'status notification failed');
  }
}

async function buildPrompt(deps: ProcessorDeps, row: GenerationRow, settings: ProjectSettings | null, signal?: AbortSignal): Promise<string> {
  let prompt = row.original_prompt;
  if (row.auto_enhance) {
    try {
      prompt = await deps.imageProvider.enhancePrompt({ prompt, template: row.template as PromptTemplate, signal });
    } catch (err) {
      if (err instanceof ProviderError && err.retryable) throw err;
      deps.logger.warn({ err, generationId: row.id }, 'prompt enhancement failed; using the original prompt');
    }
  }
  const style = settings?.stylePrompt?.trim();
  if (style) prompt = `${prompt}\n\n${style}`;
  if (prompt !== row.prompt) await generationRepository.setGenerationPrompt(deps.db, row.id, row.run, prompt);
  return prompt;
}

async function loadReferences(deps: ProcessorDeps, row: GenerationRow): Promise<InputImage[]> {
  const ids = row.reference_images.map((r) => r.imageId);
  const images = await imageRepository.findImagesByIds(deps.db, ids);
  const byId = new Map(images.filter((i) => i.project_id === row.project_id).map((i) => [i.id, i]));
  const out: InputImage[] = [];
  for (const id of ids) {
    const image = byId.get(id);
    if (!image) throw new ProviderError('REFERENCE_NOT_FOUND', 'A reference image no longer exists', false);
    out.push({ mimeType: image.mime_type, data: await deps.storage.get(image.storage_key) });
  }
  return out;
}

async function storeOutput(
  deps: ProcessorDeps,
  row: GenerationRow,
  prompt: string,
  output: { data: Buffer; mimeType: string },
  processingTimeMs: number,
): Promise<GenerationRow | undefined> {
  const meta = await readImageMetadata(output.data, output.mimeType);
  const imageId = row.output_image_id ?? outputImageIdFor(row.id);
  // One object per run: a late, superseded run never overwrites the bytes of the run that won.
  const key = imageStorageKey(row.project_id, imageId, row.run);
  await deps.storage.put(key, output.data, meta.mimeType);
  const image: StoredImage = { id: imageId, key, etag: contentEtag(output.data), size: output.data.length, ...meta };
  const store = row.alias || (row.flow_alias && row.flow_id) ? storeWithAliases : storeWithoutAliases;
  try {
    const stored = await store(deps, row, prompt, image, processingTimeMs, deps.clock.now());
    const replacedKey = stored.previousKey !== key ? stored.previousKey : null;
    if (replacedKey) await deps.storage.delete(replacedKey).catch((err) => deps.logger.warn({ err, key: replacedKey }, 'could not delete replaced bytes'));
    return stored.row;
  } catch (err) {
    if (!(err instanceof SupersededError)) throw err;
    // Keep the object if a twin delivery of this same run committed it.
    const current = await imageRepository.findImage(deps.db, row.project_id, imageId);
    if (current?.storage_key !== key) await deps.storage.delete(key);
    return undefined;
  }
}

interface StoredImage {
  id: string;
  key: string;
  etag: string;
  size: number;
  width: number;
  height: number;
  mimeType: string;
}

interface StoreResult {
  row: GenerationRow;
  /** The storage key the image held before (its replaced bytes), if any. */
  previousKey: string | null;
}

/** Image row, alias takeovers and the guarded success update in one transaction. */
async function storeWithAliases(
  deps: ProcessorDeps,
  row: GenerationRow,
  prompt: string,
  file: StoredImage,
  processingTimeMs: number,
  at: Date,
): Promise<StoreResult> {
  return deps.db.transaction().execute(async (tx) => {
    const { previousKey, ...image } = await upsertOutputImage(tx, row, file.id, file, at);
    if (row.alias) await assignProjectAlias(tx, row.project_id, row.alias, image.id, at);
    if (row.flow_alias && row.flow_id) await assignFlowAlias(tx, row.flow_id, row.flow_alias, image.id, at);
    const done = await generationRepository.markGenerationSucceeded(tx, row.id, row.run, {
      prompt,
      outputImageId: image.id,
      processingTimeMs,
      at,
    });
    // Cancelled or superseded meanwhile: roll the image row and aliases back.
    if (!done) throw new SupersededError();
    return { row: done, previousKey };
  });
}

class SupersededError extends Error {}

/** No alias to assign: the guarded success update and the image upsert in one statement (no transaction round trips). */
async function storeWithoutAliases(
  deps: ProcessorDeps,
  row: GenerationRow,
  prompt: string,
  image: StoredImage,
  processingTimeMs: number,
  at: Date,
): Promise<StoreResult> {
  const stored = await generationRepository.storeGeneratedOutput(deps.db, {
    id: row.id,
    run: row.run,
    projectId: row.project_id,
    flowId: row.flow_id,
    prompt,
    processingTimeMs,
    at,
    image,
  });
  // Cancelled or superseded meanwhile: nothing was written.
  if (!stored) throw new SupersededError();
  return stored;
}

async function dropVariants(deps: ProcessorDeps, projectId: string, imageId: string): Promise<void> {
  await deps.storage.deletePrefix(imageVariantPrefix(projectId, imageId)).catch((err) => deps.logger.warn({ err, imageId }, 'could not drop stale variants'));
}

async function upsertOutputImage(
  tx: Tx,
  row: GenerationRow,
  imageId: string,
  file: { key: string; etag: string; size: number; width: number; height: number; mimeType: string },
  now: Date,
): Promise<ImageRow & { previousKey: string | null }> {
  // The key the row held before this statement comes back with the upsert (one round trip, not two).
  const upserted = await tx
    .with('previous', (db) => db.selectFrom('images').select('storage_key').where('id', '=', imageId))
    .insertInto('images')
    .values({
      id: imageId,
      project_id: row.project_id,
      flow_id: row.flow_id,
      generation_id: row.id,
      source: 'generated',
      storage_key: file.key,
      mime_type: file.mimeType,
      file_size: file.size,
      width: file.width,
      height: file.height,
      etag: file.etag,
      meta: JSON.stringify({}),
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        storage_key: eb.ref('excluded.storage_key'),
        mime_type: eb.ref('excluded.mime_type'),
        file_size: eb.ref('excluded.file_size'),
        width: eb.ref('excluded.width'),
        height: eb.ref('excluded.height'),
        etag: eb.ref('excluded.etag'),
        updated_at: eb.ref('excluded.updated_at'),
        version: sql<number>`CASE WHEN images.etag = excluded.etag THEN images.version ELSE images.version + 1 END`,
      })),
    )
    .returningAll()
    .returning((eb) => eb.selectFrom('previous').select('previous.storage_key').as('previous_key'))
    .executeTakeFirstOrThrow();
  const { previous_key: previousKey, ...image } = upserted;
  return { ...(image as ImageRow), previousKey: previousKey ?? null };
}

/** Generation/upload aliases take over: the previous holder loses the alias. */
async function assignProjectAlias(tx: Tx, projectId: string, alias: string, imageId: string, now: Date): Promise<void> {
  await imageRepository.takeOverProjectAlias(tx, projectId, alias, imageId, now);
}

async function assignFlowAlias(tx: Tx, flowId: string, alias: string, imageId: string, now: Date): Promise<void> {
  await flowRepository.setFlowAlias(tx, flowId, alias, imageId, now);
}
