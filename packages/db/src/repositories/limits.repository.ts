import { sql } from 'kysely';
import type { Executor } from '../database.js';

/** A project's limits; null = unlimited. */
export interface ProjectLimits {
  generationsPerDay: number | null;
  monthlyCostUsd: number | null;
  maxConcurrency: number | null;
}

export const NO_LIMITS: ProjectLimits = Object.freeze({ generationsPerDay: null, monthlyCostUsd: null, maxConcurrency: null });

/** 'ok', or which limit one more generation would pass. */
export type AdmissionVerdict = 'ok' | 'day' | 'month';

export async function findLimits(db: Executor, projectId: string): Promise<ProjectLimits> {
  const row = await db.selectFrom('project_limits').selectAll().where('project_id', '=', projectId).executeTakeFirst();
  if (!row) return NO_LIMITS;
  return {
    generationsPerDay: row.generations_per_day,
    monthlyCostUsd: row.monthly_cost_usd === null ? null : Number(row.monthly_cost_usd),
    maxConcurrency: row.max_concurrency,
  };
}

/** Sets the given limits (undefined: keep, null: remove) and returns them all. */
export async function upsertLimits(db: Executor, projectId: string, patch: Partial<ProjectLimits>, at: Date): Promise<ProjectLimits> {
  const current = await findLimits(db, projectId);
  const next: ProjectLimits = {
    generationsPerDay: patch.generationsPerDay === undefined ? current.generationsPerDay : patch.generationsPerDay,
    monthlyCostUsd: patch.monthlyCostUsd === undefined ? current.monthlyCostUsd : patch.monthlyCostUsd,
    maxConcurrency: patch.maxConcurrency === undefined ? current.maxConcurrency : patch.maxConcurrency,
  };
  const values = {
    generations_per_day: next.generationsPerDay,
    monthly_cost_usd: next.monthlyCostUsd,
    max_concurrency: next.maxConcurrency,
    updated_at: at,
  };
  await db
    .insertInto('project_limits')
    .values({ project_id: projectId, ...values })
    .onConflict((oc) => oc.column('project_id').doUpdateSet(values))
    .execute();
  // The day's counter may have missed generations made while there was no limit: the next admission counts the rows again.
  await db.updateTable('project_usage_days').set({ generations: null }).where('project_id', '=', projectId).where('day', '=', sql<Date>`${at.toISOString().slice(0, 10)}::date`).execute();
  return next;
}

/**
 * Admission of one more generation (migration 0012's banatie_admit_generation):
 * with `lock`, call it in the transaction that inserts the generation.
 */
export async function admitGeneration(db: Executor, projectId: string, at: Date, lock = true): Promise<AdmissionVerdict> {
  const { rows } = await sql<{ verdict: AdmissionVerdict }>`SELECT banatie_admit_generation(${projectId}::uuid, ${at}::timestamptz, ${lock}) AS verdict`.execute(db);
  return rows[0]!.verdict;
}

/** What the project used of its limits: generations created this UTC day, cost recorded this UTC month. */
export async function limitsUsage(db: Executor, projectId: string, at: Date): Promise<{ generationsToday: number; costUsdThisMonth: number }> {
  const { rows } = await sql<{ generations_today: number; cost_this_month: number }>`
    SELECT
      (SELECT count(*) FROM generations g WHERE g.project_id = ${projectId}::uuid
        AND g.created_at >= date_trunc('day', ${at}::timestamptz, 'UTC') AND g.created_at < date_trunc('day', ${at}::timestamptz, 'UTC') + interval '1 day')
        AS generations_today,
      (SELECT COALESCE(sum(d.cost_usd), 0)::float8 FROM project_usage_days d WHERE d.project_id = ${projectId}::uuid
        AND d.day >= date_trunc('month', ${at}::timestamptz, 'UTC')::date
        AND d.day < (date_trunc('month', ${at}::timestamptz, 'UTC') + interval '1 month')::date) AS cost_this_month`.execute(db);
  return { generationsToday: Number(rows[0]!.generations_today), costUsdThisMonth: Number(rows[0]!.cost_this_month) };
}

/**
 * `maxConcurrency` of each given project (absent: unlimited), in one query:
 * what the workers' fair dispatcher (issue 15, helper `capacity`) enforces.
 */
export async function maxConcurrencyOf(db: Executor, projectIds: readonly string[]): Promise<Map<string, number>> {
  if (projectIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('project_limits')
    .select(['project_id', 'max_concurrency'])
    .where('project_id', 'in', [...projectIds])
    .where('max_concurrency', 'is not', null)
    .execute();
  return new Map(rows.map((r) => [r.project_id, r.max_concurrency!]));
}
