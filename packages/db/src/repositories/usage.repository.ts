import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../database.js';
import type { UsageSource } from '../types.js';

/** One billed provider call, priced. */
export interface UsageCall {
  operation: string;
  model: string;
  imageSize: string | null;
  tier: 'standard' | 'batch';
  inputTokens: number;
  outputTokens: number;
  thoughtTokens: number;
  costUsd: number;
}

/** Calls made for one generation, to be written with its state change. */
export interface UsageWrite {
  source: UsageSource;
  calls: UsageCall[];
  at: Date;
}

export interface UsageTotals {
  providerCalls: number;
  inputTokens: number;
  outputTokens: number;
  thoughtTokens: number;
  costUsd: number;
}

export function totalsOf(calls: UsageCall[]): UsageTotals {
  const t = { providerCalls: calls.length, inputTokens: 0, outputTokens: 0, thoughtTokens: 0, costUsd: 0 };
  for (const c of calls) {
    t.inputTokens += c.inputTokens;
    t.outputTokens += c.outputTokens;
    t.thoughtTokens += c.thoughtTokens;
    t.costUsd += c.costUsd;
  }
  return t;
}

/** numeric(20,10) as exact text: no float formatting such as 1e-7 reaches PostgreSQL. */
function money(usd: number): string {
  return usd.toFixed(10);
}

function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** `SET` items adding the calls to a generation's usage columns (inside an UPDATE of `generations`). */
export function usageIncrements(calls: UsageCall[]): RawBuilder<unknown> {
  const t = totalsOf(calls);
  return sql`usage_provider_calls = generations.usage_provider_calls + ${t.providerCalls}::int,
    usage_input_tokens = generations.usage_input_tokens + ${t.inputTokens}::bigint,
    usage_output_tokens = generations.usage_output_tokens + ${t.outputTokens}::bigint,
    usage_thought_tokens = generations.usage_thought_tokens + ${t.thoughtTokens}::bigint,
    usage_cost_usd = generations.usage_cost_usd + ${money(t.costUsd)}::numeric`;
}

/**
 * CTEs (to follow others in a WITH list) that insert the usage records and add
 * the cost to the project's day, for each row of `from` (a CTE returning the
 * generation's `id` and `project_id`): no row there, nothing recorded.
 */
export function usageInsertCtes(from: string, usage: UsageWrite): RawBuilder<unknown> {
  const t = totalsOf(usage.calls);
  const rows = JSON.stringify(
    usage.calls.map((c) => ({
      operation: c.operation,
      model: c.model,
      image_size: c.imageSize,
      tier: c.tier,
      input_tokens: c.inputTokens,
      output_tokens: c.outputTokens,
      thought_tokens: c.thoughtTokens,
      cost_usd: money(c.costUsd),
    })),
  );
  const src = sql.table(from);
  return sql`usage_rec AS (
      INSERT INTO usage_records (project_id, generation_id, source, operation, model, image_size, tier,
        input_tokens, output_tokens, thought_tokens, cost_usd, created_at)
      SELECT g.project_id, g.id, ${usage.source}, c.operation, c.model, c.image_size, c.tier,
        c.input_tokens, c.output_tokens, c.thought_tokens, c.cost_usd, ${usage.at}::timestamptz
      FROM ${src} g, jsonb_to_recordset(${rows}::jsonb) AS c(operation text, model text, image_size text, tier text,
        input_tokens int, output_tokens int, thought_tokens int, cost_usd numeric)
    ),
    usage_day AS (
      INSERT INTO project_usage_days (project_id, day, cost_usd)
      SELECT g.project_id, ${utcDay(usage.at)}::date, ${money(t.costUsd)}::numeric FROM ${src} g WHERE ${t.providerCalls}::int > 0
      ON CONFLICT (project_id, day) DO UPDATE SET cost_usd = project_usage_days.cost_usd + excluded.cost_usd
    )`;
}

/**
 * Records calls of a generation outside a state change of its own (a retried
 * or superseded attempt): the records, the generation's totals and the
 * project's day, in one statement.
 */
export async function recordUsage(db: Executor, generationId: string, usage: UsageWrite): Promise<void> {
  if (usage.calls.length === 0) return;
  await sql`
    WITH g AS (UPDATE generations SET ${usageIncrements(usage.calls)} WHERE id = ${generationId}::uuid RETURNING id, project_id),
    ${usageInsertCtes('g', usage)}
    SELECT 1`.execute(db);
}

export type UsageGroupBy = 'day' | 'model' | 'source' | 'project';

export interface UsageGroupRow {
  key: string;
  generations: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  providerCalls: number;
  inputTokens: number;
  outputTokens: number;
  thoughtTokens: number;
  costUsd: number;
}

/** Generations without an image call (failed before the model) under groupBy=model. */
export const NO_MODEL_KEY = 'none';

/** The group key of a generation row `g` (joined with projects `p`, organizations `o`). */
function generationKey(groupBy: UsageGroupBy): RawBuilder<string> {
  switch (groupBy) {
    case 'day':
      return sql`to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    case 'source':
      return sql`CASE WHEN g.live_scope_id IS NOT NULL THEN 'live' ELSE 'api' END`;
    case 'model':
      // The model of the generation's latest image call (generations carry no model column yet).
      return sql`COALESCE((SELECT u.model FROM usage_records u WHERE u.generation_id = g.id AND u.operation = 'generate_image'
        ORDER BY u.id DESC LIMIT 1), ${NO_MODEL_KEY})`;
    case 'project':
      return sql`o.slug || '/' || p.slug`;
  }
}

/** The group key of a usage record `u` (joined with projects `p`, organizations `o`). */
function callKey(groupBy: UsageGroupBy): RawBuilder<string> {
  switch (groupBy) {
    case 'day':
      return sql`to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    case 'source':
      return sql`u.source`;
    case 'model':
      return sql`u.model`;
    case 'project':
      return sql`o.slug || '/' || p.slug`;
  }
}

/**
 * Usage in [from, to): generations created in the range (by status) and
 * provider calls made in it, grouped. `projectId` null: every project. The
 * generations are counted per project through (project_id, created_at), so the
 * admin report needs no index of its own on the generations table.
 */
export async function usageReport(
  db: Executor,
  q: { projectId: string | null; from: Date; to: Date; groupBy: UsageGroupBy },
): Promise<UsageGroupRow[]> {
  const projectFilter = q.projectId === null ? sql`TRUE` : sql`p.id = ${q.projectId}::uuid`;
  const { rows } = await sql<UsageGroupRow>`
    WITH gen AS (
      SELECT c.key, sum(c.generations)::bigint AS generations, sum(c.succeeded)::bigint AS succeeded,
        sum(c.failed)::bigint AS failed, sum(c.cancelled)::bigint AS cancelled
      FROM projects p JOIN organizations o ON o.id = p.organization_id
      CROSS JOIN LATERAL (
        SELECT ${generationKey(q.groupBy)} AS key, count(*) AS generations,
          count(*) FILTER (WHERE g.status = 'success') AS succeeded,
          count(*) FILTER (WHERE g.status = 'failed') AS failed,
          count(*) FILTER (WHERE g.status = 'cancelled') AS cancelled
        FROM generations g
        WHERE g.project_id = p.id AND g.created_at >= ${q.from}::timestamptz AND g.created_at < ${q.to}::timestamptz
        GROUP BY 1
      ) c
      WHERE ${projectFilter}
      GROUP BY c.key
    ),
    calls AS (
      SELECT ${callKey(q.groupBy)} AS key, count(*)::bigint AS provider_calls, sum(u.input_tokens)::bigint AS input_tokens,
        sum(u.output_tokens)::bigint AS output_tokens, sum(u.thought_tokens)::bigint AS thought_tokens, sum(u.cost_usd)::float8 AS cost_usd
      FROM usage_records u JOIN projects p ON p.id = u.project_id JOIN organizations o ON o.id = p.organization_id
      WHERE ${projectFilter} AND u.created_at >= ${q.from}::timestamptz AND u.created_at < ${q.to}::timestamptz
      GROUP BY 1
    )
    SELECT COALESCE(gen.key, calls.key) AS key,
      COALESCE(gen.generations, 0) AS generations, COALESCE(gen.succeeded, 0) AS succeeded,
      COALESCE(gen.failed, 0) AS failed, COALESCE(gen.cancelled, 0) AS cancelled,
      COALESCE(calls.provider_calls, 0) AS "providerCalls", COALESCE(calls.input_tokens, 0) AS "inputTokens",
      COALESCE(calls.output_tokens, 0) AS "outputTokens", COALESCE(calls.thought_tokens, 0) AS "thoughtTokens",
      COALESCE(calls.cost_usd, 0) AS "costUsd"
    FROM gen FULL JOIN calls ON calls.key = gen.key
    ORDER BY 1`.execute(db);
  return rows;
}
