import { sql } from 'kysely';
import type { Executor } from '../database.js';
import type { LiveScope, LiveScopesTable } from '../types.js';
import type { Insertable, Updateable } from 'kysely';

export type NewLiveScope = Omit<Insertable<LiveScopesTable>, 'project_id' | 'slug'>;
export type LiveScopeChanges = Pick<
  Updateable<LiveScopesTable>,
  'allow_new_generations' | 'new_generations_limit' | 'allowed_origins' | 'require_signature' | 'meta'
>;

export interface LiveScopeWithStats extends LiveScope {
  entry_count: number;
}

/** What a cache HIT needs to serve bytes: the entry and its image. */
export interface LiveEntryForDelivery {
  id: string;
  scope_id: string;
  generation_id: string | null;
  image_id: string | null;
  hit_count: number;
  storage_key: string | null;
  mime_type: string | null;
  etag: string | null;
}

export async function findScope(db: Executor, projectId: string, slug: string): Promise<LiveScope | undefined> {
  return db.selectFrom('live_scopes').selectAll().where('project_id', '=', projectId).where('slug', '=', slug).executeTakeFirst();
}

/** Inserts the scope with the given settings; undefined when the slug is taken. */
export async function insertScope(db: Executor, projectId: string, slug: string, values: NewLiveScope): Promise<LiveScope | undefined> {
  return db
    .insertInto('live_scopes')
    .values({ ...values, project_id: projectId, slug })
    .onConflict((oc) => oc.columns(['project_id', 'slug']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** The scope, created with the table defaults when missing (race-safe). */
export async function findOrCreateScope(db: Executor, projectId: string, slug: string, now: Date): Promise<LiveScope> {
  const created = await insertScope(db, projectId, slug, { allowed_origins: '[]', meta: '{}', created_at: now, updated_at: now });
  return created ?? (await findScope(db, projectId, slug))!;
}

function scopesWithStats(db: Executor, projectId: string) {
  return db
    .selectFrom('live_scopes as s')
    .selectAll('s')
    .select((eb) =>
      eb
        .selectFrom('live_entries as e')
        .select(sql<number>`count(*)::int`.as('n'))
        .whereRef('e.scope_id', '=', 's.id')
        .as('entry_count'),
    )
    .where('s.project_id', '=', projectId);
}

export async function findScopeWithStats(db: Executor, projectId: string, slug: string): Promise<LiveScopeWithStats | undefined> {
  const row = await scopesWithStats(db, projectId).where('s.slug', '=', slug).executeTakeFirst();
  return row ? { ...row, entry_count: row.entry_count ?? 0 } : undefined;
}

export async function listScopes(
  db: Executor,
  projectId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: LiveScopeWithStats[]; total: number }> {
  const rows = await scopesWithStats(db, projectId).orderBy('s.created_at', 'desc').orderBy('s.id', 'desc').limit(page.limit).offset(page.offset).execute();
  const { total } = await db
    .selectFrom('live_scopes')
    .select(sql<number>`count(*)::int`.as('total'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return { rows: rows.map((r) => ({ ...r, entry_count: r.entry_count ?? 0 })), total };
}

export async function updateScope(
  db: Executor,
  projectId: string,
  slug: string,
  changes: LiveScopeChanges,
  now: Date,
): Promise<LiveScope | undefined> {
  return db
    .updateTable('live_scopes')
    .set({ ...changes, updated_at: now })
    .where('project_id', '=', projectId)
    .where('slug', '=', slug)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteScope(db: Executor, projectId: string, slug: string): Promise<string | undefined> {
  const row = await db.deleteFrom('live_scopes').where('project_id', '=', projectId).where('slug', '=', slug).returning('id').executeTakeFirst();
  return row?.id;
}

/**
 * Takes one unit of the scope's generation budget, atomically: false when the
 * limit is reached (so concurrent MISSes can never overspend it).
 */
export async function consumeScopeBudget(db: Executor, scopeId: string, now: Date, opts: { ignoreLimit?: boolean } = {}): Promise<boolean> {
  let q = db
    .updateTable('live_scopes')
    .set((eb) => ({
      current_generations: eb('current_generations', '+', 1),
      miss_count: eb('miss_count', '+', 1),
      last_generated_at: now,
    }))
    .where('id', '=', scopeId);
  if (!opts.ignoreLimit) q = q.whereRef('current_generations', '<', 'new_generations_limit');
  return (await q.returning('id').executeTakeFirst()) !== undefined;
}

/** Gives back a unit taken by consumeScopeBudget when the generation could not be submitted. */
export async function refundScopeBudget(db: Executor, scopeId: string): Promise<void> {
  await db
    .updateTable('live_scopes')
    .set((eb) => ({ current_generations: sql`greatest(${eb.ref('current_generations')} - 1, 0)`, miss_count: sql`greatest(${eb.ref('miss_count')} - 1, 0)` }))
    .where('id', '=', scopeId)
    .execute();
}

export async function findEntryForDelivery(db: Executor, projectId: string, cacheKey: string): Promise<LiveEntryForDelivery | undefined> {
  return db
    .selectFrom('live_entries as e')
    .leftJoin('images as i', 'i.id', 'e.image_id')
    .select(['e.id', 'e.scope_id', 'e.generation_id', 'e.image_id', 'e.hit_count', 'i.storage_key', 'i.mime_type', 'i.etag'])
    .where('e.project_id', '=', projectId)
    .where('e.cache_key', '=', cacheKey)
    .executeTakeFirst();
}

/** Records the generation that fills a cache key (replacing a stale entry). */
export async function upsertPendingEntry(
  db: Executor,
  values: { projectId: string; scopeId: string; cacheKey: string; params: Record<string, unknown>; generationId: string; now: Date },
): Promise<void> {
  await db
    .insertInto('live_entries')
    .values({
      project_id: values.projectId,
      scope_id: values.scopeId,
      cache_key: values.cacheKey,
      params: JSON.stringify(values.params),
      generation_id: values.generationId,
      created_at: values.now,
    })
    .onConflict((oc) =>
      oc.columns(['project_id', 'cache_key']).doUpdateSet({ generation_id: values.generationId, image_id: null, scope_id: values.scopeId, hit_count: 0, created_at: values.now }),
    )
    .execute();
}

/** Points the entry at the generation's output image, once it succeeded. */
export async function completeEntry(
  db: Executor,
  projectId: string,
  cacheKey: string,
  generationId: string,
  imageId: string,
): Promise<{ id: string; scope_id: string; hit_count: number } | undefined> {
  return db
    .updateTable('live_entries')
    .set({ image_id: imageId })
    .where('project_id', '=', projectId)
    .where('cache_key', '=', cacheKey)
    .where('generation_id', '=', generationId)
    .returning(['id', 'scope_id', 'hit_count'])
    .executeTakeFirst();
}

/** Drops an entry that can no longer be served (failed generation, missing object). */
export async function deleteEntry(db: Executor, projectId: string, cacheKey: string, generationId?: string | null): Promise<void> {
  let q = db.deleteFrom('live_entries').where('project_id', '=', projectId).where('cache_key', '=', cacheKey);
  if (generationId) q = q.where('generation_id', '=', generationId);
  await q.execute();
}

/** Adds hits counted in memory since the last flush, in two statements. */
export async function addHits(
  db: Executor,
  entries: Array<{ entryId: string; hits: number; lastHitAt: Date }>,
  scopes: Array<{ scopeId: string; hits: number }>,
): Promise<void> {
  if (entries.length > 0) {
    const values = sql.join(entries.map((e) => sql`(${e.entryId}::uuid, ${e.hits}::bigint, ${e.lastHitAt}::timestamptz)`));
    await sql`UPDATE live_entries AS e SET hit_count = e.hit_count + v.hits,
      last_hit_at = greatest(e.last_hit_at, v.at)
      FROM (VALUES ${values}) AS v(id, hits, at) WHERE e.id = v.id`.execute(db);
  }
  if (scopes.length > 0) {
    const values = sql.join(scopes.map((s) => sql`(${s.scopeId}::uuid, ${s.hits}::bigint)`));
    await sql`UPDATE live_scopes AS s SET hit_count = s.hit_count + v.hits
      FROM (VALUES ${values}) AS v(id, hits) WHERE s.id = v.id`.execute(db);
  }
}

export async function countScopes(db: Executor, projectId: string): Promise<number> {
  const row = await db.selectFrom('live_scopes').select(sql<number>`count(*)::int`.as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return row.n;
}

/**
 * Serialises scope creation within a project until the transaction ends, so a
 * count of its scopes followed by an insert cannot be raced past a limit. `FOR
 * NO KEY UPDATE` does not block inserts that reference the project.
 */
export async function lockProjectForScopeCreation(tx: Executor, projectId: string): Promise<void> {
  await tx.selectFrom('projects').select('id').where('id', '=', projectId).forNoKeyUpdate().execute();
}

/** Public live MISS generations of the project on `day` (UTC, `YYYY-MM-DD`). */
export async function findDailyUsage(db: Executor, projectId: string, day: string): Promise<number> {
  const row = await db.selectFrom('live_daily_usage').select('generations').where('project_id', '=', projectId).where(sql`day`, '=', sql`${day}::date`).executeTakeFirst();
  return row?.generations ?? 0;
}

/** Takes one generation of the day's cap, atomically: false when `limit` is reached (nothing written then); null: counted, no cap. */
export async function consumeDailyBudget(db: Executor, projectId: string, day: string, limit: number | null): Promise<boolean> {
  if (limit !== null && limit <= 0) return false;
  const row = await db
    .insertInto('live_daily_usage')
    .values({ project_id: projectId, day, generations: 1 })
    .onConflict((oc) => {
      const update = oc.columns(['project_id', 'day']).doUpdateSet({ generations: sql`live_daily_usage.generations + 1` });
      return limit === null ? update : update.where('live_daily_usage.generations', '<', limit);
    })
    .returning('generations')
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives back a generation taken by consumeDailyBudget when it could not be submitted. */
export async function refundDailyBudget(db: Executor, projectId: string, day: string): Promise<void> {
  await db
    .updateTable('live_daily_usage')
    .set({ generations: sql`greatest(generations - 1, 0)` })
    .where('project_id', '=', projectId)
    .where(sql`day`, '=', sql`${day}::date`)
    .execute();
}
