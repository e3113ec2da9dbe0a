import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { GeminiBatchRow, GeminiBatchState, GenerationRow } from '../types.js';

/** Per model: how many batch-tier generations wait for a provider batch, and since when. */
export async function waitingProviderBatchItems(db: Executor): Promise<Array<{ model: string; count: number; oldest: Date }>> {
  const rows = await db
    .selectFrom('generations')
    .select((eb) => ['model', eb.fn.countAll<string>().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('provider_batch', '=', true)
    .where('gemini_batch_id', 'is', null)
    .where('status', '=', 'pending')
    .groupBy('model')
    .execute();
  return rows.map((r) => ({ model: r.model ?? '', count: Number(r.count), oldest: new Date(r.oldest as unknown as string) }));
}

/**
 * A new provider batch holding up to `limit` waiting items of `model`, oldest
 * first; rows another worker is claiming are skipped. Undefined when none was left.
 */
export async function claimProviderBatch(db: Executor, model: string, limit: number, at: Date): Promise<{ batch: GeminiBatchRow; itemIds: string[] } | undefined> {
  const { rows } = await sql<GeminiBatchRow & { item_ids: string[] }>`
    WITH items AS (
      SELECT id FROM generations
      WHERE provider_batch AND gemini_batch_id IS NULL AND status = 'pending' AND model = ${model}
      ORDER BY created_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
    ),
    batch AS (
      INSERT INTO gemini_batches (model, item_count, lease_until, created_at, updated_at)
      SELECT ${model}, count(*), ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz FROM items HAVING count(*) > 0
      RETURNING *
    ),
    claimed AS (
      UPDATE generations SET gemini_batch_id = (SELECT id FROM batch), updated_at = ${at}::timestamptz
      WHERE id IN (SELECT id FROM items) AND EXISTS (SELECT 1 FROM batch)
      RETURNING id
    )
    SELECT batch.*, (SELECT array_agg(id) FROM claimed) AS item_ids FROM batch`.execute(db);
  const found = rows[0];
  if (!found) return undefined;
  const { item_ids: itemIds, ...batch } = found;
  return { batch: batch as GeminiBatchRow, itemIds: itemIds ?? [] };
}

/**
 * Leases up to `limit` provider batches in `state` whose lease ran out, for
 * `leaseMs`; a submitting batch counts the attempt. Rows leased by another worker are skipped.
 */
export async function leaseProviderBatches(db: Executor, state: 'submitting' | 'running', at: Date, leaseMs: number, limit: number): Promise<GeminiBatchRow[]> {
  const { rows } = await sql<GeminiBatchRow>`
    UPDATE gemini_batches SET lease_until = ${new Date(at.getTime() + leaseMs)}::timestamptz, updated_at = ${at}::timestamptz,
      submit_attempts = submit_attempts + CASE WHEN state = 'submitting' THEN 1 ELSE 0 END
    WHERE id IN (
      SELECT id FROM gemini_batches WHERE state = ${state} AND lease_until <= ${at}::timestamptz
      ORDER BY lease_until LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING *`.execute(db);
  return rows;
}

/** Stores the provider's job name: from now on the batch is polled (from the next tick on), never submitted again. */
export async function setProviderBatchName(db: Executor, id: string, name: string, at: Date): Promise<void> {
  await db
    .updateTable('gemini_batches')
    .set({ name, state: 'running', submitted_at: at, updated_at: at, lease_until: at })
    .where('id', '=', id)
    .where('state', '=', 'submitting')
    .execute();
}

export async function finishProviderBatch(db: Executor, id: string, state: Exclude<GeminiBatchState, 'submitting' | 'running'>, at: Date): Promise<void> {
  await db.updateTable('gemini_batches').set({ state, completed_at: at, updated_at: at }).where('id', '=', id).execute();
}

/** Takes items back out of a provider batch before it is submitted: waiting again for the next one. */
export async function releaseProviderBatchItems(db: Executor, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('generations')
    .set({ gemini_batch_id: null, status: 'pending', started_at: null, updated_at: at })
    .where('id', 'in', ids)
    .where('status', 'in', ['pending', 'processing'])
    .execute();
}

/** The generations a provider batch holds, in claim order. */
export async function providerBatchItems(db: Executor, geminiBatchId: string): Promise<GenerationRow[]> {
  return db.selectFrom('generations').selectAll().where('gemini_batch_id', '=', geminiBatchId).orderBy('created_at').orderBy('id').execute();
}
