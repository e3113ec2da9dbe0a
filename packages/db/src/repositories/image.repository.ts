import { pageWithTotal } from './paging.js';
import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { ImageRow, NewImage } from '../types.js';

export async function insertImage(db: Executor, values: NewImage): Promise<ImageRow> {
  return db.insertInto('images').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findImage(db: Executor, projectId: string, id: string): Promise<ImageRow | undefined> {
  return db.selectFrom('images').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

export async function findImagesByIds(db: Executor, ids: string[]): Promise<ImageRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('images').selectAll().where('id', 'in', ids).execute();
}

/** The image (by id or project alias) public delivery serves, with its project's slugs checked. */
export async function findImageForDelivery(
  db: Executor,
  orgSlug: string,
  projectSlug: string,
  idOrAlias: { id: string } | { alias: string },
): Promise<ImageRow | undefined> {
  let q = db
    .selectFrom('images as i')
    .innerJoin('projects as p', 'p.id', 'i.project_id')
    .innerJoin('organizations as o', 'o.id', 'p.organization_id')
    .selectAll('i')
    .where('o.slug', '=', orgSlug)
    .where('p.slug', '=', projectSlug);
  q = 'id' in idOrAlias ? q.where('i.id', '=', idOrAlias.id) : q.where('i.alias', '=', idOrAlias.alias);
  return q.executeTakeFirst();
}

export interface ImageListFilter {
  flowId?: string;
  source?: 'generated' | 'uploaded';
  alias?: string;
  limit: number;
  offset: number;
}

export async function listImages(db: Executor, projectId: string, f: ImageListFilter): Promise<{ rows: ImageRow[]; total: number }> {
  let q = db.selectFrom('images').where('project_id', '=', projectId);
  if (f.flowId) q = q.where('flow_id', '=', f.flowId);
  if (f.source) q = q.where('source', '=', f.source);
  if (f.alias) q = q.where('alias', '=', f.alias);
  return pageWithTotal(q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(f.limit).offset(f.offset), f.offset, async () =>
    (await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
  );
}

export async function findImageByAlias(db: Executor, projectId: string, alias: string): Promise<ImageRow | undefined> {
  return db.selectFrom('images').selectAll().where('project_id', '=', projectId).where('alias', '=', alias).executeTakeFirst();
}

export type TechnicalAliasKind = 'last' | 'first' | 'upload';

/**
 * @last / @first: newest / oldest generated image; @upload: newest upload —
 * inside the flow when flowId is given, else across the project.
 */
export async function findTechnicalImage(
  db: Executor,
  projectId: string,
  kind: TechnicalAliasKind,
  opts: { flowId: string | null; excludeImageId?: string | null },
): Promise<ImageRow | undefined> {
  let q = db
    .selectFrom('images')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('source', '=', kind === 'upload' ? 'uploaded' : 'generated');
  if (opts.flowId) q = q.where('flow_id', '=', opts.flowId);
  if (opts.excludeImageId) q = q.where('id', '!=', opts.excludeImageId);
  const dir = kind === 'first' ? 'asc' : 'desc';
  return q.orderBy('created_at', dir).orderBy('id', dir).limit(1).executeTakeFirst();
}

export async function updateImage(
  db: Executor,
  projectId: string,
  id: string,
  patch: { focal_point?: string | null; meta?: string; alias?: string | null; flow_id?: string | null; generation_id?: null },
  at: Date,
): Promise<ImageRow | undefined> {
  // A new focal point moves cover crops: the image gets a new version (versionedUrl), and its variants go (trigger of 0010).
  const version = patch.focal_point !== undefined ? { version: sql<number>`CASE WHEN focal_point IS DISTINCT FROM ${patch.focal_point}::jsonb THEN version + 1 ELSE version END` } : {};
  return db
    .updateTable('images')
    .set({ ...patch, ...version, updated_at: at })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Takeover: the alias moves to imageId, whoever held it loses it. A transaction-scoped
 * advisory lock per (project, alias) serialises concurrent takeovers.
 */
export async function takeOverProjectAlias(tx: Executor, projectId: string, alias: string, imageId: string, at: Date): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${projectId}:${alias}`}, 0))`.execute(tx);
  await tx
    .updateTable('images')
    .set({ alias: null, updated_at: at })
    .where('project_id', '=', projectId)
    .where('alias', '=', alias)
    .where('id', '!=', imageId)
    .execute();
  await tx.updateTable('images').set({ alias, updated_at: at }).where('id', '=', imageId).where('project_id', '=', projectId).execute();
}

export async function deleteImage(db: Executor, projectId: string, id: string): Promise<ImageRow | undefined> {
  return db.deleteFrom('images').where('project_id', '=', projectId).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Flow aliases (from every flow of the project) that point at each of the given images. */
export async function flowAliasesOfImages(db: Executor, projectId: string, imageIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (imageIds.length === 0) return out;
  const rows = await sql<{ alias: string; image_id: string }>`
    SELECT DISTINCT kv.key AS alias, kv.value AS image_id
    FROM flows f CROSS JOIN LATERAL jsonb_each_text(f.aliases) AS kv
    WHERE f.project_id = ${projectId} AND kv.value = ANY(${imageIds}::text[])
    ORDER BY 1`.execute(db);
  for (const r of rows.rows) out.set(r.image_id, [...(out.get(r.image_id) ?? []), r.alias]);
  return out;
}
