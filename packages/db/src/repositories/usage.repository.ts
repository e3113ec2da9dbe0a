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
