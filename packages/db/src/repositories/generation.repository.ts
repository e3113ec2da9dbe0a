import { pageWithTotal } from './paging.js';
import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { GenerationRow, GenerationStatus, ImageRow, NewGeneration, ProjectSettings } from '../types.js';
import type { AdmissionVerdict } from './limits.repository.js';
import { usageIncrements, usageInsertCtes, type UsageWrite } from './usage.repository.js';

export async function insertGeneration(db: Executor, values: NewGeneration): Promise<GenerationRow> {
  return db.insertInto('generations').values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * Inserts unless (project, idempotency key) already exists; returns the row and
 * whether it was created by this call. Race-safe through the unique index.
 */
export async function insertGenerationIdempotent(
  db: Executor,
  values: NewGeneration & { idempotency_key: string },
): Promise<{ row: GenerationRow; created: boolean }> {
  const created = await db
    .insertInto('generations')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['project_id', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing(),
    )
    .returningAll()
    .executeTakeFirst();
  if (created) return { row: created, created: true };
  const existing = await db
    .selectFrom('generations')
    .selectAll()
    .where('project_id', '=', values.project_id)
    .where('idempotency_key', '=', values.idempotency_key)
    .executeTakeFirstOrThrow();
  return { row: existing, created: false };
}

/** Frees an idempotency key older than the replay window so it can be reused. */
export async function expireIdempotencyKey(db: Executor, projectId: string, key: string, olderThan: Date): Promise<void> {
  await db
    .updateTable('generations')
    .set({ idempotency_key: null })
    .where('project_id', '=', projectId)
    .where('idempotency_key', '=', key)
    .where('created_at', '<', olderThan)
    .execute();
}

export async function findGeneration(
  db: Executor,
  projectId: string,
  id: string,
  opts: { includeDeleted?: boolean } = {},
): Promise<GenerationRow | undefined> {
  let q = db.selectFrom('generations').selectAll().where('project_id', '=', projectId).where('id', '=', id);
  if (!opts.includeDeleted) q = q.where('deleted_at', 'is', null);
  return q.executeTakeFirst();
}

export async function findGenerationById(db: Executor, id: string): Promise<GenerationRow | undefined> {
  return db.selectFrom('generations').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface GenerationListFilter {
  flowId?: string;
  status?: GenerationStatus;
  includeDeleted?: boolean;
  limit: number;
  offset: number;
}

export async function listGenerations(
  db: Executor,
  projectId: string,
  f: GenerationListFilter,
): Promise<{ rows: GenerationRow[]; total: number }> {
  let q = db.selectFrom('generations').where('project_id', '=', projectId);
  if (f.flowId) q = q.where('flow_id', '=', f.flowId);
  if (f.status) q = q.where('status', '=', f.status);
  if (!f.includeDeleted) q = q.where('deleted_at', 'is', null);
  return pageWithTotal(q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset), f.offset, async () =>
    (await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  );
}

/**
 * pending|processing → processing for the given run; counts the attempt.
 * Returns undefined when the row is terminal, belongs to another run or is past its deadline.
 * The project's settings are read in the same statement: the worker needs the style prompt and the webhook target, and a second round
 * trip per job showed in the pipeline profile.
 */
export async function markGenerationProcessingWithSettings(
  db: Executor,
  id: string,
  run: number,
  at: Date,
): Promise<{ row: GenerationRow; projectSettings: ProjectSettings | null } | undefined> {
  const found = await db
    .updateTable('generations')
    .set((eb) => ({
      status: 'processing',
      started_at: at,
      updated_at: at,
      attempts: eb('attempts', '+', 1),
      waiting_for_quota: false,
    }))
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', 'in', ['pending', 'processing'])
    .where((eb) => eb.or([eb('deadline_at', 'is', null), eb('deadline_at', '>', at)]))
    .returningAll('generations')
    .returning((eb) => eb.selectFrom('projects').select('projects.settings').whereRef('projects.id', '=', 'generations.project_id').as('project_settings'))
    .executeTakeFirst();
  if (!found) return undefined;
  const { project_settings: projectSettings, ...row } = found;
  return { row: row as GenerationRow, projectSettings: (projectSettings as ProjectSettings | null) ?? null };
}

export async function markGenerationSucceeded(
  db: Executor,
  id: string,
  run: number,
  values: { prompt: string; outputImageId: string; processingTimeMs: number; at: Date },
): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set({
      status: 'success',
      prompt: values.prompt,
      output_image_id: values.outputImageId,
      processing_time_ms: values.processingTimeMs,
      completed_at: values.at,
      updated_at: values.at,
      error_code: null,
      error_message: null,
    })
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', '=', 'processing')
    .returningAll()
    .executeTakeFirst();
}

/**
 * The worker's store of a generated output without aliases to assign, in one
 * statement: the guarded `success` update, the output image upsert (only when
 * the update matched: a cancelled or superseded run writes nothing) and the key
 * the image held before. Undefined when the run no longer holds the row.
 */
export async function storeGeneratedOutput(
  db: Executor,
  values: {
    id: string;
    run: number;
    projectId: string;
    flowId: string | null;
    prompt: string;
    processingTimeMs: number;
    at: Date;
    image: { id: string; key: string; mimeType: string; size: number; width: number; height: number; etag: string };
    usage?: UsageWrite;
  },
): Promise<{ row: GenerationRow; previousKey: string | null } | undefined> {
  const { image: img, at, usage } = values;
  const hasUsage = usage !== undefined && usage.calls.length > 0;
  const { rows } = await sql<GenerationRow & { previous_key: string | null }>`
    WITH previous AS (SELECT storage_key FROM images WHERE id = ${img.id}::uuid),
    done AS (
      UPDATE generations SET status = 'success', prompt = ${values.prompt}, output_image_id = ${img.id}::uuid,
        processing_time_ms = ${values.processingTimeMs}::int, completed_at = ${at}::timestamptz, updated_at = ${at}::timestamptz,
        error_code = NULL, error_message = NULL${hasUsage ? sql`, ${usageIncrements(usage.calls)}` : sql``}
      WHERE id = ${values.id}::uuid AND run = ${values.run}::int AND status = 'processing'
      RETURNING *
    ),${hasUsage ? sql`${usageInsertCtes('done', usage)},` : sql``}
    image AS (
      INSERT INTO images (id, project_id, flow_id, generation_id, source, storage_key, mime_type, file_size, width, height, etag, meta, created_at, updated_at)
      SELECT ${img.id}::uuid, ${values.projectId}::uuid, ${values.flowId}::uuid, done.id, 'generated', ${img.key}::text, ${img.mimeType}::text,
        ${img.size}::int, ${img.width}::int, ${img.height}::int, ${img.etag}::text, '{}'::jsonb, ${at}::timestamptz, ${at}::timestamptz
      FROM done
      ON CONFLICT (id) DO UPDATE SET storage_key = excluded.storage_key, mime_type = excluded.mime_type, file_size = excluded.file_size,
        width = excluded.width, height = excluded.height, etag = excluded.etag, updated_at = excluded.updated_at,
        version = CASE WHEN images.etag = excluded.etag THEN images.version ELSE images.version + 1 END
      RETURNING id
    )
    SELECT done.*, (SELECT storage_key FROM previous) AS previous_key FROM done`.execute(db);
  const found = rows[0];
  if (!found) return undefined;
  const { previous_key: previousKey, ...row } = found;
  return { row: row as GenerationRow, previousKey };
}

export async function markGenerationFailed(
  db: Executor,
  id: string,
  run: number,
  values: { code: string; message: string; processingTimeMs: number | null; at: Date },
): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set({
      status: 'failed',
      error_code: values.code,
      error_message: values.message,
      processing_time_ms: values.processingTimeMs,
      completed_at: values.at,
      updated_at: values.at,
    })
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', 'in', ['pending', 'processing'])
    .returningAll()
    .executeTakeFirst();
}

/** Stores the enhanced prompt as soon as it is known (visible while processing). */
export async function setGenerationPrompt(db: Executor, id: string, run: number, prompt: string): Promise<void> {
  await db.updateTable('generations').set({ prompt }).where('id', '=', id).where('run', '=', run).execute();
}

/**
 * Starts a new run of a generation (regeneration): status back to pending with the
 * next run number, guarded by the run the caller read so two concurrent
 * regenerations do not both win.
 */
export async function startGenerationRun(
  db: Executor,
  projectId: string,
  id: string,
  expectedRun: number,
  values: {
    referenceImages: string;
    prompt?: string;
    aspectRatio?: string;
    model?: { model: string; imageSize: string; groundWithSearch: boolean };
    at: Date;
    deadlineAt: Date;
  },
): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set((eb) => ({
      run: eb('run', '+', 1),
      status: 'pending',
      deadline_at: values.deadlineAt,
      waiting_for_quota: false,
      reference_images: values.referenceImages,
      ...(values.prompt !== undefined ? { prompt: values.prompt, original_prompt: values.prompt } : {}),
      ...(values.aspectRatio !== undefined ? { aspect_ratio: values.aspectRatio } : {}),
      ...(values.model
        ? { model: values.model.model, image_size: values.model.imageSize, ground_with_search: values.model.groundWithSearch }
        : {}),
      // A regeneration runs through the normal queue, whatever tier the first run had.
      provider_batch: false,
      gemini_batch_id: null,
      error_code: null,
      error_message: null,
      attempts: 0,
      processing_time_ms: null,
      started_at: null,
      completed_at: null,
      updated_at: values.at,
    }))
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('run', '=', expectedRun)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function updateGenerationFields(
  db: Executor,
  projectId: string,
  id: string,
  patch: { flow_id?: string | null; meta?: string },
  at: Date,
): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set({ ...patch, updated_at: at })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Soft delete; a pending or processing generation is also cancelled, so its job produces nothing. */
export async function softDeleteGeneration(db: Executor, projectId: string, id: string, at: Date): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set({
      deleted_at: at,
      updated_at: at,
      status: sql<GenerationStatus>`CASE WHEN status IN ('pending', 'processing') THEN 'cancelled' ELSE status END`,
      completed_at: sql<Date>`CASE WHEN status IN ('pending', 'processing') THEN ${at} ELSE completed_at END`,
    })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function detachOutputImage(db: Executor, id: string, at: Date): Promise<void> {
  await db.updateTable('generations').set({ output_image_id: null, updated_at: at }).where('id', '=', id).execute();
}

export async function findLatestFlowGeneration(db: Executor, projectId: string, flowId: string): Promise<GenerationRow | undefined> {
  return db
    .selectFrom('generations')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('flow_id', '=', flowId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface PlainGenerationInsert {
  projectId: string;
  /** true: a new flow is created in the same statement; false: no flow. */
  newFlow: boolean;
  prompt: string;
  /** null: the project's `autoEnhanceDefault`, else true. */
  autoEnhance: boolean | null;
  template: string;
  /** null: the project's `defaultAspectRatio`, else 1:1. */
  aspectRatio: string | null;
  alias: string | null;
  flowAlias: string | null;
  meta: string;
  webhookUrl: string | null;
  liveScopeId: string | null;
  /** null: the project's `defaultModel` when it is a key of `modelSizes`, else `defaultModel`. */
  model: string | null;
  /** null: the project's `defaultImageSize` when the model has it, else the model's first (smallest) size. */
  imageSize: string | null;
  groundWithSearch: boolean;
  /** The allowed models and their sizes, smallest first. */
  modelSizes: Record<string, string[]>;
  defaultModel: string;
  at: Date;
  deadlineAt: Date;
}

/**
 * A submit without references, flow id or idempotency key in one round trip:
 * admits it against the project's limits (a transaction of its own when the
 * project has limits), reads the project's defaults, and creates the flow and the
 * generation atomically. Undefined when the project does not exist or the limits refuse it.
 */
export async function insertPlainGeneration(
  db: Executor,
  g: PlainGenerationInsert,
): Promise<{ row: GenerationRow | undefined; verdict: AdmissionVerdict }> {
  // banatie_submit_plain_generation (migration 0014): the admission (0012), the model
  // defaults, the flow and the generation in one call, planned once per connection;
  // nothing is inserted past the project's limits. It commits, so never inside a transaction.
  const { rows } = await sql<{ out_generation: Record<string, unknown> | null; out_admission: AdmissionVerdict }>`
    CALL banatie_submit_plain_generation(NULL, NULL,
      ${g.projectId}::uuid, ${g.newFlow}::boolean, ${g.prompt}::text, ${g.autoEnhance}::boolean, ${g.template}::text,
      ${g.aspectRatio}::text, ${g.alias}::text, ${g.flowAlias}::text, ${g.meta}::jsonb, ${g.webhookUrl}::text,
      ${g.liveScopeId}::uuid, ${g.model}::text, ${g.imageSize}::text, ${g.groundWithSearch}::boolean,
      ${JSON.stringify(g.modelSizes)}::jsonb, ${g.defaultModel}::text, ${g.at}::timestamptz, ${g.deadlineAt}::timestamptz)`.execute(db);
  const { out_generation: row, out_admission: verdict } = rows[0]!;
  return { row: row ? (reviveTimestamps(row, GENERATION_TIMESTAMPS) as unknown as GenerationRow) : undefined, verdict };
}

/**
 * A generation of the project with its output image, in one round trip (the
 * poll path). The image comes back as JSON, so its timestamps are revived here.
 */
export async function findGenerationWithOutputImage(
  db: Executor,
  projectId: string,
  id: string,
): Promise<{ row: GenerationRow; outputImage: ImageRow | undefined; outputImageFlowAliases: string[] } | undefined> {
  // banatie_generation_with_output (migration 0006): the same join, planned once per connection.
  const { rows } = await sql<{ generation: Record<string, unknown>; output_image: Record<string, unknown> | null; output_image_flow_aliases: string[] | null }>`
    SELECT * FROM banatie_generation_with_output(${projectId}::uuid, ${id}::uuid)`.execute(db);
  const found = rows[0];
  if (!found) return undefined;
  return {
    row: reviveTimestamps(found.generation, GENERATION_TIMESTAMPS) as unknown as GenerationRow,
    outputImage: found.output_image ? (reviveTimestamps(found.output_image, IMAGE_TIMESTAMPS) as unknown as ImageRow) : undefined,
    outputImageFlowAliases: found.output_image_flow_aliases ?? [],
  };
}

const GENERATION_TIMESTAMPS = ['created_at', 'started_at', 'completed_at', 'updated_at', 'deleted_at', 'deadline_at'] as const;
const IMAGE_TIMESTAMPS = ['created_at', 'updated_at'] as const;

/** A row read as jsonb has its timestamps as strings; pg would have parsed them to Dates. */
function reviveTimestamps(row: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  for (const key of keys) {
    const value = row[key];
    if (typeof value === 'string') row[key] = new Date(value);
  }
  return row;
}

/** pending|processing → cancelled; undefined when the row is already terminal (or unknown). */
export async function markGenerationCancelled(db: Executor, projectId: string, id: string, at: Date): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set({ status: 'cancelled', completed_at: at, updated_at: at })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'processing'])
    .returningAll()
    .executeTakeFirst();
}

/** Rows still pending/processing whose last change is older than `before` (sweeper candidates), oldest first. */
export async function findUnsettledGenerations(db: Executor, before: Date, limit: number): Promise<GenerationRow[]> {
  return db
    .selectFrom('generations')
    .selectAll()
    .where('status', 'in', ['pending', 'processing'])
    .where('updated_at', '<', before)
    // Items of a provider batch have no queue job: the batch runner settles them.
    .where('provider_batch', '=', false)
    .orderBy('updated_at', 'asc')
    .limit(limit)
    .execute();
}

/**
 * The run waits for provider quota: back to (or still) pending, flagged so that its
 * deadline fails it with RATE_LIMITED; an attempt counted when it was marked
 * processing is given back. Undefined when the run no longer holds the row.
 */
export async function markGenerationWaitingForQuota(db: Executor, id: string, run: number, at: Date): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set((eb) => ({
      status: 'pending',
      waiting_for_quota: true,
      attempts: eb.case().when('status', '=', 'processing').then(eb('attempts', '-', 1)).else(eb.ref('attempts')).end(),
      updated_at: at,
    }))
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', 'in', ['pending', 'processing'])
    .returningAll()
    .executeTakeFirst();
}

/** Unfinished runs whose deadline is at or before `at`, earliest first. */
export async function findPastDeadline(db: Executor, at: Date, limit: number): Promise<GenerationRow[]> {
  return db
    .selectFrom('generations')
    .selectAll()
    .where('status', 'in', ['pending', 'processing'])
    .where('deadline_at', 'is not', null)
    .where('deadline_at', '<=', at)
    .orderBy('deadline_at', 'asc')
    .limit(limit)
    .execute();
}

/**
 * Fails the run if it is unfinished and past its deadline: RATE_LIMITED when it was
 * waiting for provider quota, else DEADLINE_EXCEEDED. Undefined when it is not.
 */
export async function failPastDeadline(db: Executor, id: string, run: number, at: Date): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set((eb) => ({
      status: 'failed',
      error_code: eb.case().when('waiting_for_quota', '=', true).then('RATE_LIMITED').else('DEADLINE_EXCEEDED').end(),
      error_message: eb
        .case()
        .when('waiting_for_quota', '=', true)
        .then('The deadline passed while waiting for provider quota')
        .else('The generation did not finish before its deadline')
        .end(),
      completed_at: at,
      updated_at: at,
    }))
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', 'in', ['pending', 'processing'])
    .where('deadline_at', '<=', at)
    .returningAll()
    .executeTakeFirst();
}

/** The project's `maxConcurrency` limit (null: unlimited; undefined: no such project). */
export async function findProjectMaxConcurrency(db: Executor, projectId: string): Promise<number | null | undefined> {
  const row = await db
    .selectFrom('projects')
    .leftJoin('project_limits', 'project_limits.project_id', 'projects.id')
    .select('project_limits.max_concurrency')
    .where('projects.id', '=', projectId)
    .executeTakeFirst();
  return row ? (row.max_concurrency ?? null) : undefined;
}
