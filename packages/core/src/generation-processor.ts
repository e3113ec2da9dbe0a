import { createHash } from 'node:crypto';
import {
  flowRepository,
  generationRepository,
  imageRepository,
  usageRepository,
  type Db,
  type GenerationRow,
  type ImageRow,
  type ProjectSettings,
  type Tx,
  type UsageCall,
  type UsageWrite,
} from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { sql } from 'kysely';
import { ProviderError, type GenerationErrorCode } from './errors.js';
import { readImageMetadata, storableImage } from './image-metadata.js';
import type { ImageSize } from '@banatie/contracts';
import type { Clock, GenerateImageRequest, ImageProvider, InputImage, ObjectStorage, PromptTemplate, ProviderUsage } from './ports.js';
import { BUILT_IN_PRICES, costOf, type PriceTable } from './pricing.js';
import type { ProviderQuota } from './queue-port.js';
import { contentEtag, imageStorageKey, imageVariantPrefix } from './storage-keys.js';

export interface ProcessorDeps {
  db: Db;
  storage: ObjectStorage;
  imageProvider: ImageProvider;
  clock: Clock;
  logger: Logger;
  /** Called after every committed status change (Redis channel for waiters and SSE). */
  onStatusChange?: (row: GenerationRow) => Promise<void>;
  /** Provider quota shared by every worker; none: calls are not limited (the local provider). */
  quota?: ProviderQuota;
  /** Prices of provider calls (default: the built-in table). */
  prices?: PriceTable;
  /** Told about the provider calls of an attempt once they are recorded (metrics); must not throw. */
  onUsage?: (calls: UsageCall[]) => void;
}

export interface JobAttempt {
  generationId: string;
  run: number;
  /** The run's image model as queued; absent: the provider's default. */
  model?: string;
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
  ) {
    super(message);
    this.name = 'RetryableGenerationError';
  }
}

/**
 * The run waits for provider quota: the queue should take it again after `waitMs`
 * without counting an attempt. The row is back to `pending`, flagged as waiting.
 */
export class QuotaWaitError extends Error {
  constructor(
    readonly model: string,
    readonly waitMs: number,
  ) {
    super(`Waiting ${waitMs} ms for provider quota of ${model}`);
    this.name = 'QuotaWaitError';
  }
}

/** How long every worker leaves a model alone after a 429 that named no RetryInfo delay. */
export const DEFAULT_PROVIDER_PAUSE_MS = 10_000;

export { imageStorageKey } from './storage-keys.js';

/** The output image id of a generation is derived from its id, so a rerun never makes a second image. */
export function outputImageIdFor(generationId: string): string {
  const h = createHash('sha256').update(`output-image:${generationId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function classify(err: unknown): { code: GenerationErrorCode; message: string; retryable: boolean } {
  if (err instanceof ProviderError) return { code: err.code, message: err.message, retryable: err.retryable };
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
  const imageModel = job.model ?? deps.imageProvider.models.image;
  // The image model is always called: its quota is taken before the row changes, so a denial costs one flag write.
  await takeQuota(deps, job, imageModel);
  const marked = await generationRepository.markGenerationProcessingWithSettings(db, job.generationId, job.run, clock.now());
  if (!marked) return skipOrExpire(deps, job);
  const { row: started, projectSettings } = marked;
  await notify(deps, started);
  const t0 = Date.now();
  const signal = untilDeadline(deps, started, job.signal);
  const calls = new AttemptUsage(deps, started);
  try {
    const prompt = await buildPrompt(deps, started, projectSettings, calls, signal);
    const references = await loadReferences(deps, started);
    const output = await pausingOn429(deps, started.model ?? imageModel, () =>
      deps.imageProvider.generateImage({
        prompt,
        aspectRatio: started.aspect_ratio,
        referenceImages: references,
        ...modelOptionsOf(started),
        signal,
      }),
    );
    calls.add(output.usage);
    // No separate "still processing?" read: the success update is guarded by id,
    // run and status, and a cancelled or superseded run rolls back and drops its bytes.
    const done = await storeOutput(deps, started, prompt, output, Date.now() - t0, calls.write());
    if (!done) {
      log.info('generation cancelled or superseded while processing; result discarded');
      await calls.recordAlone();
      return 'skipped';
    }
    calls.reported();
    log.info({ ms: done.processing_time_ms }, 'generation succeeded');
    // A regeneration replaced the bytes: renditions of the old bytes are stale.
    if (started.output_image_id) await dropVariants(deps, started.project_id, done.output_image_id!);
    await notify(deps, withWebhookTarget(done, projectSettings));
    return 'succeeded';
  } catch (err) {
    if (err instanceof ProviderError) calls.add(err.options.usage);
    if (isPastDeadline(deps, started)) {
      await calls.recordAlone();
      return skipOrExpire(deps, job);
    }
    if (err instanceof QuotaWaitError) {
      await calls.recordAlone();
      const waiting = await generationRepository.markGenerationWaitingForQuota(db, job.generationId, job.run, clock.now());
      if (waiting) await notify(deps, waiting);
      log.info({ model: err.model, waitMs: err.waitMs }, 'waiting for provider quota');
      throw err;
    }
    const c = classify(err);
    if (c.retryable && !job.isFinalAttempt) {
      log.warn({ err, code: c.code }, 'generation attempt failed; will retry');
      await calls.recordAlone();
      throw new RetryableGenerationError(c.code, c.message);
    }
    if (!(err instanceof ProviderError)) log.error({ err }, 'generation failed');
    const failure = { code: c.code, message: c.message, processingTimeMs: Date.now() - t0, at: clock.now() };
    const failed = await markFailedWithUsage(db, job, failure, calls.write());
    calls.reported();
    if (failed) await notify(deps, withWebhookTarget(failed, projectSettings));
    return 'failed';
  }
}

/**
 * Takes one call of the model's shared quota; when there is none now, flags the
 * (still pending) row as waiting and throws QuotaWaitError so the queue takes the
 * job again later without counting an attempt.
 */
async function takeQuota(deps: ProcessorDeps, job: JobAttempt, model: string): Promise<void> {
  const waitMs = (await deps.quota?.take(model)) ?? 0;
  if (waitMs <= 0) return;
  await generationRepository.markGenerationWaitingForQuota(deps.db, job.generationId, job.run, deps.clock.now());
  throw new QuotaWaitError(model, waitMs);
}

/** A 429 pauses the model for every worker (its RetryInfo delay) and makes the run wait for quota. */
async function pausingOn429<T>(deps: ProcessorDeps, model: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ProviderError) || !err.options.rateLimited) throw err;
    const waitMs = err.options.retryAfterMs ?? DEFAULT_PROVIDER_PAUSE_MS;
    await deps.quota?.pause(model, waitMs);
    throw new QuotaWaitError(model, waitMs);
  }
}

/** The caller's signal, also aborted when the run's deadline passes (the provider call then ends at once). */
function untilDeadline(deps: ProcessorDeps, row: GenerationRow, signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!row.deadline_at) return signal;
  const deadline = AbortSignal.timeout(Math.max(1, row.deadline_at.getTime() - deps.clock.now().getTime()));
  return signal ? AbortSignal.any([signal, deadline]) : deadline;
}

function isPastDeadline(deps: ProcessorDeps, row: GenerationRow): boolean {
  return row.deadline_at !== null && deps.clock.now().getTime() >= row.deadline_at.getTime();
}

/** The run could not be marked processing: settled or superseded (skip), or past its deadline (fail it now). */
async function skipOrExpire(deps: ProcessorDeps, job: JobAttempt): Promise<ProcessOutcome> {
  const expired = await generationRepository.failPastDeadline(deps.db, job.generationId, job.run, deps.clock.now());
  if (!expired) {
    deps.logger.info({ generationId: job.generationId, run: job.run }, 'generation is terminal or superseded; skipping');
    return 'skipped';
  }
  await notify(deps, expired);
  return 'failed';
}

/** The provider calls of one attempt, priced, written with the attempt's state change. */
class AttemptUsage {
  private readonly calls: UsageCall[] = [];

  constructor(
    private readonly deps: Pick<ProcessorDeps, 'db' | 'clock' | 'prices' | 'onUsage' | 'logger'>,
    private readonly row: GenerationRow,
  ) {}

  add(usage: ProviderUsage | undefined): void {
    if (!usage) return;
    this.calls.push({ ...usage, costUsd: costOf(this.deps.prices ?? BUILT_IN_PRICES, usage) });
  }

  write(): UsageWrite {
    return { source: this.row.batch_id ? 'batch' : this.row.live_scope_id ? 'live' : 'api', calls: this.calls, at: this.deps.clock.now() };
  }

  /** No state change to go with (a retried or discarded attempt): the calls still happened and are billed. */
  async recordAlone(): Promise<void> {
    if (this.calls.length === 0) return;
    try {
      await usageRepository.recordUsage(this.deps.db, this.row.id, this.write());
      this.reported();
    } catch (err) {
      this.deps.logger.error({ err, generationId: this.row.id }, 'could not record provider usage');
    }
  }

  /** After the commit that wrote them. */
  reported(): void {
    if (this.calls.length > 0) this.deps.onUsage?.(this.calls);
  }
}

/** The guarded failure and the attempt's calls in one transaction (the calls are recorded even if the row moved on). */
async function markFailedWithUsage(
  db: Db,
  job: JobAttempt,
  failure: { code: string; message: string; processingTimeMs: number | null; at: Date },
  usage: UsageWrite,
): Promise<GenerationRow | undefined> {
  if (usage.calls.length === 0) return generationRepository.markGenerationFailed(db, job.generationId, job.run, failure);
  return db.transaction().execute(async (tx) => {
    const failed = await generationRepository.markGenerationFailed(tx, job.generationId, job.run, failure);
    await usageRepository.recordUsage(tx, job.generationId, usage);
    return failed;
  });
}

/**
 * The request a run sends to the model: the prompt (enhanced, with the project's
 * style; stored on the row) and the reference images' bytes. The batch tier builds
 * it before submitting.
 */
export async function buildImageRequest(deps: ProcessorDeps, row: GenerationRow, settings: ProjectSettings | null, signal?: AbortSignal): Promise<GenerateImageRequest> {
  const calls = new AttemptUsage(deps, row);
  const prompt = await buildPrompt(deps, row, settings, calls, signal);
  await calls.recordAlone();
  const referenceImages = await loadReferences(deps, row);
  return { prompt, aspectRatio: row.aspect_ratio, referenceImages, ...modelOptionsOf(row), tier: 'batch' };
}

/** Settles a processing run with the model's output exactly as processGeneration does; `skipped` when it was cancelled or superseded. */
export async function settleWithOutput(
  deps: ProcessorDeps,
  row: GenerationRow,
  settings: ProjectSettings | null,
  output: { data: Buffer; mimeType: string; usage?: ProviderUsage },
  processingTimeMs: number,
): Promise<ProcessOutcome> {
  const calls = new AttemptUsage(deps, row);
  if (output.usage) calls.add({ ...output.usage, imageSize: row.image_size ?? output.usage.imageSize, tier: 'batch' });
  const done = await storeOutput(deps, row, row.prompt, output, processingTimeMs, calls.write());
  if (!done) return 'skipped';
  calls.reported();
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
  /** A provider batch item's answer that still costs (a refused image is billed), recorded with the failure. */
  usage?: ProviderUsage,
): Promise<ProcessOutcome> {
  const failure = { ...error, processingTimeMs, at: deps.clock.now() };
  if (!usage) {
    const failed = await generationRepository.markGenerationFailed(deps.db, row.id, row.run, failure);
    if (!failed) return 'skipped';
    await notify(deps, withWebhookTarget(failed, settings));
    return 'failed';
  }
  const calls = new AttemptUsage(deps, row);
  calls.add({ ...usage, imageSize: row.image_size ?? usage.imageSize, tier: 'batch' });
  // Recorded only with the failure itself: settling a provider batch again (a guarded re-run) bills nothing twice.
  const failed = await deps.db.transaction().execute(async (tx) => {
    const marked = await generationRepository.markGenerationFailed(tx, row.id, row.run, failure);
    if (marked) await usageRepository.recordUsage(tx, row.id, calls.write());
    return marked;
  });
  if (!failed) return 'skipped';
  calls.reported();
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

async function buildPrompt(
  deps: ProcessorDeps,
  row: GenerationRow,
  settings: ProjectSettings | null,
  calls: AttemptUsage,
  signal?: AbortSignal,
): Promise<string> {
  let prompt = row.original_prompt;
  if (row.auto_enhance) {
    const model = deps.imageProvider.models.text;
    await takeQuota(deps, { generationId: row.id, run: row.run, isFinalAttempt: false }, model);
    try {
      const enhanced = await pausingOn429(deps, model, () => deps.imageProvider.enhancePrompt({ prompt, template: row.template as PromptTemplate, signal }));
      calls.add(enhanced.usage);
      prompt = enhanced.prompt;
    } catch (err) {
      if (err instanceof QuotaWaitError) throw err;
      if (err instanceof ProviderError) calls.add(err.options.usage);
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
  usage: UsageWrite,
): Promise<GenerationRow | undefined> {
  // Stored only as PNG, JPEG or WebP: anything else the model answers is converted here (PNG answers pass untouched).
  const { data, ...meta } = await storableImage(output.data);
  const imageId = row.output_image_id ?? outputImageIdFor(row.id);
  // One object per run: a late, superseded run never overwrites the bytes of the run that won.
  const key = imageStorageKey(row.project_id, imageId, row.run);
  await deps.storage.put(key, data, meta.mimeType);
  const image: StoredImage = { id: imageId, key, etag: contentEtag(data), size: data.length, ...meta };
  const store = row.alias || (row.flow_alias && row.flow_id) ? storeWithAliases : storeWithoutAliases;
  try {
    const stored = await store(deps, row, prompt, image, processingTimeMs, deps.clock.now(), usage);
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
  usage: UsageWrite,
): Promise<StoreResult> {
  return deps.db.transaction().execute(async (tx) => {
    const { previousKey, ...image } = await upsertOutputImage(tx, row, file.id, file, at);
    if (row.alias) await assignProjectAlias(tx, row.project_id, row.alias, image.id, at);
    if (row.flow_alias && row.flow_id) await assignFlowAlias(tx, row.flow_id, row.flow_alias, image.id, at);
    // Before the success update, so the row it returns carries the new totals; rolled back with it if superseded.
    await usageRepository.recordUsage(tx, row.id, usage);
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
  usage: UsageWrite,
): Promise<StoreResult> {
  const stored = await generationRepository.storeGeneratedOutput(deps.db, {
    usage,
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
