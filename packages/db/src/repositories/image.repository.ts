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

/** Removes a project alias from whichever image holds it (takeover). */
export async function releaseProjectAlias(db: Executor, projectId: string, alias: string, at: Date): Promise<void> {
  await db
    .updateTable('images')
    .set({ alias: null, updated_at: at })
    .where('project_id', '=', projectId)
    .where('alias', '=', alias)
    .execute();
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
