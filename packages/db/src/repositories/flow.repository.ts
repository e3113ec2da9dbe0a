import { pageWithTotal } from './paging.js';
import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { Flow } from '../types.js';

export async function insertFlow(db: Executor, projectId: string): Promise<Flow> {
  return db
    .insertInto('flows')
    .values({ project_id: projectId, aliases: JSON.stringify({}), meta: JSON.stringify({}) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findFlow(db: Executor, projectId: string, id: string): Promise<Flow | undefined> {
  return db.selectFrom('flows').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

export async function touchFlow(db: Executor, id: string, at: Date): Promise<void> {
  await db.updateTable('flows').set({ updated_at: at }).where('id', '=', id).execute();
}

export interface FlowWithCounts extends Flow {
  generation_count: number;
  image_count: number;
}

function flowsWithCounts(db: Executor, projectId: string) {
  return db
    .selectFrom('flows as f')
    .selectAll('f')
    .select((eb) => [
      eb
        .selectFrom('generations as g')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('g.flow_id', '=', 'f.id')
        .where('g.deleted_at', 'is', null)
        .as('generation_count'),
      eb.selectFrom('images as i').select(eb.fn.countAll<number>().as('n')).whereRef('i.flow_id', '=', 'f.id').as('image_count'),
    ])
    .where('f.project_id', '=', projectId);
}

const withNumbers = (r: Flow & { generation_count: unknown; image_count: unknown }): FlowWithCounts => ({
  ...r,
  generation_count: Number(r.generation_count ?? 0),
  image_count: Number(r.image_count ?? 0),
});

export async function listFlows(db: Executor, projectId: string, page: { limit: number; offset: number }): Promise<{ rows: FlowWithCounts[]; total: number }> {
  const { rows, total } = await pageWithTotal(
    flowsWithCounts(db, projectId).orderBy('f.created_at', 'desc').orderBy('f.id', 'desc').limit(page.limit).offset(page.offset),
    page.offset,
    async () => (await db.selectFrom('flows').where('project_id', '=', projectId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  );
  return { rows: rows.map(withNumbers), total };
}

export async function findFlowWithCounts(db: Executor, projectId: string, id: string): Promise<FlowWithCounts | undefined> {
  const row = await flowsWithCounts(db, projectId).where('f.id', '=', id).executeTakeFirst();
  return row ? withNumbers(row) : undefined;
}

/** Sets one flow alias (takeover inside the flow); atomic in PostgreSQL. */
export async function setFlowAlias(db: Executor, flowId: string, alias: string, imageId: string, at: Date): Promise<void> {
  await mergeFlowAliases(db, flowId, { [alias]: imageId }, at);
}

export async function mergeFlowAliases(db: Executor, flowId: string, aliases: Record<string, string>, at: Date): Promise<void> {
  await db
    .updateTable('flows')
    .set({ aliases: sql`aliases || ${JSON.stringify(aliases)}::jsonb`, updated_at: at })
    .where('id', '=', flowId)
    .execute();
}

/** false when the flow had no such alias. */
export async function removeFlowAlias(db: Executor, projectId: string, flowId: string, alias: string, at: Date): Promise<boolean> {
  const res = await db
    .updateTable('flows')
    .set({ aliases: sql`aliases - ${alias}::text`, updated_at: at })
    .where('project_id', '=', projectId)
    .where('id', '=', flowId)
    .where(sql<boolean>`aliases ? ${alias}::text`)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Drops every flow alias pointing at the image (image deleted). */
export async function removeImageFromFlowAliases(db: Executor, projectId: string, imageId: string, at: Date): Promise<void> {
  await sql`
    UPDATE flows SET updated_at = ${at}, aliases = (
      SELECT coalesce(jsonb_object_agg(kv.key, kv.value), '{}'::jsonb)
      FROM jsonb_each(flows.aliases) AS kv WHERE kv.value <> to_jsonb(${imageId}::text)
    )
    WHERE project_id = ${projectId} AND EXISTS (
      SELECT 1 FROM jsonb_each_text(flows.aliases) AS e WHERE e.value = ${imageId}::text
    )`.execute(db);
}

export async function deleteFlow(db: Executor, projectId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('flows').where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
