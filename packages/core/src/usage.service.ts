import { usageRepository, type Db, type UsageGroupBy, type UsageGroupRow } from '@banatie/db';
import { ValidationError } from './errors.js';
import type { Clock } from './ports.js';
import { roundUsd } from './presenters.js';

export interface UsageDeps {
  db: Db;
  clock: Clock;
}

export type UsageFigures = Omit<UsageGroupRow, 'key'>;

export interface UsageReport {
  /** Start of the range, inclusive. */
  from: string;
  /** End of the range, exclusive. */
  to: string;
  totals: UsageFigures;
  groups: UsageGroupRow[];
}

const DAY_MS = 24 * 3600 * 1000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The range [from, to): a date-only `from` starts that UTC day, a date-only
 * `to` includes its whole day; date-times are taken as given. Defaults: the
 * current UTC month. Both checked for format by the request schema.
 */
export function usageRange(now: Date, q: { from?: string; to?: string }): { from: Date; to: Date } {
  const from = q.from ? startOf(q.from) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const to = q.to ? endOf(q.to) : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  if (from.getTime() >= to.getTime()) throw new ValidationError('from must be before to', { field: 'from' });
  return { from, to };
}

function startOf(v: string): Date {
  return DATE_ONLY.test(v) ? new Date(`${v}T00:00:00Z`) : new Date(v);
}

function endOf(v: string): Date {
  return DATE_ONLY.test(v) ? new Date(Date.parse(`${v}T00:00:00Z`) + DAY_MS) : new Date(v);
}

/** GET /api/v1/usage (projectId) and GET /api/admin/usage (null: every project). */
export async function usageReport(
  deps: UsageDeps,
  projectId: string | null,
  q: { from?: string; to?: string; groupBy?: UsageGroupBy },
): Promise<UsageReport> {
  const { from, to } = usageRange(deps.clock.now(), q);
  const groupBy = q.groupBy ?? (projectId === null ? 'project' : 'day');
  const rows = await usageRepository.usageReport(deps.db, { projectId, from, to, groupBy });
  const groups = rows.map((r) => ({ ...r, costUsd: roundUsd(r.costUsd) }));
  return { from: from.toISOString(), to: to.toISOString(), totals: sum(groups), groups };
}

function sum(groups: UsageGroupRow[]): UsageFigures {
  const t: UsageFigures = { generations: 0, succeeded: 0, failed: 0, cancelled: 0, providerCalls: 0, inputTokens: 0, outputTokens: 0, thoughtTokens: 0, costUsd: 0 };
  for (const g of groups) {
    for (const k of Object.keys(t) as (keyof UsageFigures)[]) t[k] += g[k];
  }
  return { ...t, costUsd: roundUsd(t.costUsd) };
}
