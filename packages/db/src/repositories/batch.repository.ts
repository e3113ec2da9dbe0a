import { sql, type Insertable } from 'kysely';
import type { Executor } from '../database.js';
import type { BatchesTable, BatchRow, GenerationStatus } from '../types.js';
import { pageWithTotal } from './paging.js';

export type BatchCounts = Record<GenerationStatus, number> & { total: number };

/** Inserts unless (project, idempotency key) exists; undefined when it does (race-safe through the unique index). */
export async function insertBatch(db: Executor, values: Insertable<BatchesTable>): Promise<BatchRow | undefined> {
  return db
    .insertInto('batches')
    .values(values)
    .onConflict((oc) => oc.columns(['project_id', 'idempotency_key']).where('idempotency_key', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findBatchByIdempotencyKey(db: Executor, projectId: string, key: string): Promise<BatchRow | undefined> {
  return db.selectFrom('batches').selectAll().where('project_id', '=', projectId).where('idempotency_key', '=', key).executeTakeFirst();
}

/** Frees an idempotency key older than the replay window so it can be reused. */
export async function expireBatchIdempotencyKey(db: Executor, projectId: string, key: string, olderThan: Date): Promise<void> {
  await db
    .updateTable('batches')
    .set({ idempotency_key: null })
    .where('project_id', '=', projectId)
    .where('idempotency_key', '=', key)
    .where('created_at', '<', olderThan)
    .execute();
}

export async function findBatch(db: Executor, projectId: string, id: string): Promise<BatchRow | undefined> {
  return db.selectFrom('batches').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

export async function findBatchById(db: Executor, id: string): Promise<BatchRow | undefined> {
  return db.selectFrom('batches').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listBatches(db: Executor, projectId: string, page: { limit: number; offset: number }): Promise<{ rows: BatchRow[]; total: number }> {
  const base = db.selectFrom('batches').where('project_id', '=', projectId);
  return pageWithTotal(base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).offset(page.offset), page.offset, async () =>
    (await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  );
}

/** Per batch: its generations by status and their ids in submission order, one statement for a page of batches. */
export async function batchItems(db: Executor, batchIds: string[]): Promise<Map<string, { counts: BatchCounts; generationIds: string[] }>> {
  const out = new Map<string, { counts: BatchCounts; generationIds: string[] }>();
  for (const id of batchIds) out.set(id, { counts: emptyCounts(), generationIds: [] });
  if (batchIds.length === 0) return out;
  const rows = await db
    .selectFrom('generations')
    .select(['id', 'batch_id', 'status'])
    .where('batch_id', 'in', batchIds)
    .orderBy('created_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  for (const row of rows) {
    const entry = out.get(row.batch_id!)!;
    entry.counts[row.status] += 1;
    entry.counts.total += 1;
    entry.generationIds.push(row.id);
  }
  return out;
}

function emptyCounts(): BatchCounts {
  return { total: 0, pending: 0, processing: 0, success: 0, failed: 0, cancelled: 0 };
}

/**
 * Sets `completed_at` once no item is pending or processing; the batch row when
 * this call did it (exactly one caller wins: it sends `batch.completed`).
 */
export async function markBatchCompletedIfDone(db: Executor, id: string, at: Date): Promise<BatchRow | undefined> {
  return db
    .updateTable('batches')
    .set({ completed_at: at, updated_at: at })
    .where('id', '=', id)
    .where('completed_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('generations').select(sql`1`.as('one')).where('batch_id', '=', id).where('status', 'in', ['pending', 'processing']))),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function markBatchCancelled(db: Executor, projectId: string, id: string, at: Date): Promise<BatchRow | undefined> {
  return db
    .updateTable('batches')
    .set((eb) => ({ cancelled_at: eb.fn.coalesce('cancelled_at', sql<Date>`${at}::timestamptz`), updated_at: at }))
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** The unfinished items of a batch (to cancel them). */
export async function unfinishedBatchGenerations(db: Executor, id: string): Promise<Array<{ id: string; run: number }>> {
  return db.selectFrom('generations').select(['id', 'run']).where('batch_id', '=', id).where('status', 'in', ['pending', 'processing']).execute();
}

/** Batches whose items all ended but whose completion was never recorded (a lost notification): the sweeper settles them. */
export async function findUnsettledBatches(db: Executor, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('batches')
    .select('id')
    .where('completed_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('generations').select(sql`1`.as('one')).whereRef('generations.batch_id', '=', 'batches.id').where('status', 'in', ['pending', 'processing']))),
    )
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
