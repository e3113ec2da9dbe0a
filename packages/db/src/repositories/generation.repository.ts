import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { GenerationRow, GenerationStatus, NewGeneration } from '../types.js';

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
  const rows = await q
    .selectAll()
    .select(sql<number>`count(*) over ()`.as('__total'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit)
    .offset(f.offset)
    .execute();
  let total = rows[0]?.__total ?? 0;
  if (rows.length === 0 && f.offset > 0) {
    const c = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    total = Number(c.n);
  }
  return { rows: rows.map(({ __total, ...row }) => row as GenerationRow), total: Number(total) };
}

/**
 * pending|processing → processing for the given run; counts the attempt.
 * Returns undefined when the row is terminal or belongs to another run.
 */
export async function markGenerationProcessing(
  db: Executor,
  id: string,
  run: number,
  at: Date,
): Promise<GenerationRow | undefined> {
  return db
    .updateTable('generations')
    .set((eb) => ({
      status: 'processing',
      started_at: at,
      updated_at: at,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', '=', id)
    .where('run', '=', run)
    .where('status', 'in', ['pending', 'processing'])
    .returningAll()
    .executeTakeFirst();
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
    .orderBy('updated_at', 'asc')
    .limit(limit)
    .execute();
}
