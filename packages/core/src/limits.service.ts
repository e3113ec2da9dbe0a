import { limitsRepository, projectRepository, type AdmissionVerdict, type Db, type ProjectLimits } from '@banatie/db';
import { AppError, NotFoundError } from './errors.js';
import type { Clock } from './ports.js';
import { roundUsd, type LimitsView } from './presenters.js';

export interface LimitsDeps {
  db: Db;
  clock: Clock;
}

export type { LimitsView };

const LIMIT_NAMES: Record<Exclude<AdmissionVerdict, 'ok'>, { limit: keyof ProjectLimits; message: string }> = {
  day: { limit: 'generationsPerDay', message: "The project's daily generation limit is reached; it resets at the end of the UTC day" },
  month: { limit: 'monthlyCostUsd', message: "The project's monthly cost limit is reached; it resets at the end of the UTC month" },
};

/**
 * A submit (or batch) past a project limit (SPEC §12): 429 QUOTA_EXCEEDED with
 * Retry-After until the limit resets. `forLive`: a live MISS, 403.
 */
export class QuotaExceededError extends AppError {
  constructor(
    readonly verdict: Exclude<AdmissionVerdict, 'ok'>,
    now: Date,
    forLive = false,
  ) {
    const { limit, message } = LIMIT_NAMES[verdict];
    super(forLive ? 'forbidden' : 'rate_limited', 'QUOTA_EXCEEDED', message, {
      details: { limit },
      retryAfterSeconds: secondsUntilReset(verdict, now),
    });
  }
}

/** Seconds until the end of the UTC day or month (at least 1). */
export function secondsUntilReset(verdict: Exclude<AdmissionVerdict, 'ok'>, now: Date): number {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const end = verdict === 'day' ? Date.UTC(y, m, now.getUTCDate() + 1) : Date.UTC(y, m + 1, 1);
  return Math.max(1, Math.ceil((end - now.getTime()) / 1000));
}

/** Throws QuotaExceededError unless the verdict admits the generation. */
export function assertAdmitted(verdict: AdmissionVerdict, now: Date, forLive = false): void {
  if (verdict !== 'ok') throw new QuotaExceededError(verdict, now, forLive);
}

/** Read-only pre-check (no lock), for paths that would create something before the submit (live scopes). */
export async function checkQuota(deps: LimitsDeps, projectId: string, forLive = false): Promise<void> {
  const now = deps.clock.now();
  assertAdmitted(await limitsRepository.admitGeneration(deps.db, projectId, now, false), now, forLive);
}

export async function limitsView(deps: LimitsDeps, projectId: string): Promise<LimitsView> {
  const [limits, usage] = await Promise.all([
    limitsRepository.findLimits(deps.db, projectId),
    limitsRepository.limitsUsage(deps.db, projectId, deps.clock.now()),
  ]);
  return { ...limits, usage: { ...usage, costUsdThisMonth: roundUsd(usage.costUsdThisMonth) } };
}

async function projectIdOf(deps: LimitsDeps, orgSlug: string, projectSlug: string): Promise<string> {
  const project = await projectRepository.findProjectBySlugs(deps.db, orgSlug, projectSlug);
  if (!project) throw new NotFoundError('Project not found');
  return project.id;
}

/** GET /api/admin/projects/:orgSlug/:projectSlug/limits. */
export async function getLimits(deps: LimitsDeps, orgSlug: string, projectSlug: string): Promise<LimitsView> {
  return limitsView(deps, await projectIdOf(deps, orgSlug, projectSlug));
}

/** PUT …/limits: a field left out keeps its value, null removes the limit. */
export async function setLimits(deps: LimitsDeps, orgSlug: string, projectSlug: string, patch: Partial<ProjectLimits>): Promise<LimitsView> {
  const projectId = await projectIdOf(deps, orgSlug, projectSlug);
  await limitsRepository.upsertLimits(deps.db, projectId, patch, deps.clock.now());
  return limitsView(deps, projectId);
}
