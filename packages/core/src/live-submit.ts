import { liveRepository, type Db, type LiveScope } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { submitGeneration } from './generation.service.js';
import type { Clock, PromptTemplate } from './ports.js';
import type { JobQueue } from './queue-port.js';
import type { ModelSettings } from './models.js';
import type { MissTarget } from './live-types.js';

export interface LiveSubmitDeps {
  db: Db;
  queue: JobQueue;
  clock: Clock;
  logger?: Logger;
  publicBaseUrl: string;
  /** GENERATION_DEADLINE_MS for the generations a MISS starts. */
  generationDeadlineMs?: number;
  /** The allowed image models and the default (config). */
  models?: ModelSettings;
}

/** Submits the generation under `generationId`, charged to `scope` (the budgets were spent by the caller's reservation). */
export async function submitLiveGeneration(deps: LiveSubmitDeps, t: MissTarget, scope: LiveScope, generationId: string): Promise<void> {
  const { db, clock } = deps;
  await submitGeneration(
      { db, queue: deps.queue, clock, publicBaseUrl: deps.publicBaseUrl, logger: deps.logger, generationDeadlineMs: deps.generationDeadlineMs, models: deps.models },
      { keyId: 'live', projectId: t.project.id, organizationId: t.project.organizationId, orgSlug: t.project.orgSlug, projectSlug: t.project.slug },
      {
        prompt: t.params.prompt,
        aspectRatio: t.params.aspectRatio,
        autoEnhance: t.params.autoEnhance,
        enhancementOptions: { template: t.params.template as PromptTemplate },
        model: t.params.model,
        imageSize: t.params.imageSize,
        flowId: null,
        meta: { liveScope: scope.slug },
      },
    { liveScopeId: scope.id, generationId, interactive: true },
  );
}

/** Records the submitted generation as the one that fills the key (joiners wait for it). */
export async function recordPendingEntry(deps: Pick<LiveSubmitDeps, 'db' | 'clock'>, t: MissTarget, scope: LiveScope, generationId: string): Promise<void> {
  const { db, clock } = deps;
  await liveRepository.upsertPendingEntry(db, {
    projectId: t.project.id,
    scopeId: scope.id,
    cacheKey: t.key,
    params: { scope: scope.slug, ...t.params },
    generationId,
    now: clock.now(),
  });
}
