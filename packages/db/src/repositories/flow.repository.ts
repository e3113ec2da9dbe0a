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
