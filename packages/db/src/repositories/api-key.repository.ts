import type { Executor } from '../database.js';
import type { ApiKeyRow, KeyRole } from '../types.js';

export interface ApiKeyWithProject extends ApiKeyRow {
  project_slug: string | null;
  org_slug: string | null;
  organization_id: string | null;
}

export async function insertApiKey(
  db: Executor,
  values: {
    projectId: string | null;
    type: 'master' | 'project';
    role: KeyRole;
    name: string | null;
    prefix: string;
    keyHash: string;
    expiresAt: Date | null;
  },
): Promise<ApiKeyRow> {
  return db
    .insertInto('api_keys')
    .values({
      project_id: values.projectId,
      type: values.type,
      role: values.role,
      name: values.name,
      prefix: values.prefix,
      key_hash: values.keyHash,
      expires_at: values.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findApiKeyByHash(db: Executor, keyHash: string): Promise<ApiKeyWithProject | undefined> {
  return db
    .selectFrom('api_keys as k')
    .leftJoin('projects as p', 'p.id', 'k.project_id')
    .leftJoin('organizations as o', 'o.id', 'p.organization_id')
    .selectAll('k')
    .select(['p.slug as project_slug', 'o.slug as org_slug', 'o.id as organization_id'])
    .where('k.key_hash', '=', keyHash)
    .executeTakeFirst();
}

export async function listApiKeys(db: Executor, projectId: string): Promise<ApiKeyRow[]> {
  return db.selectFrom('api_keys').selectAll().where('project_id', '=', projectId).orderBy('created_at', 'desc').execute();
}

export async function findApiKeyById(db: Executor, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Returns false when the key does not exist. Revoking twice keeps the first time. */
export async function revokeApiKey(db: Executor, id: string, at: Date): Promise<boolean> {
  const res = await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function touchApiKey(db: Executor, id: string, at: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}
