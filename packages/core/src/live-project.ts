import { projectRepository, type Db, type ProjectSettings, type ProjectWithOrg } from '@banatie/db';
import { NotFoundError } from './errors.js';
import { TtlCache, normalizeLivePrompt, type LiveParams } from './live-cache.js';
import type { Clock } from './ports.js';
import { chooseModel, type ModelSettings } from './models.js';
import type { LiveProject, LiveQuery } from './live-types.js';

const MAX_PROJECTS_IN_MEMORY = 10_000;
const MISSING_PROJECT_TTL_MS = 5_000;

/** Projects by their slugs, cached briefly so a HIT needs no SQL. */
export class LiveProjects {
  private readonly cache: TtlCache<LiveProject | null>;

  constructor(
    private readonly deps: { db: Db; clock: Clock; ttlMs?: number },
  ) {
    this.cache = new TtlCache(MAX_PROJECTS_IN_MEMORY, () => deps.clock.now().getTime());
  }

  /** From memory only; undefined when not cached (null: cached as missing). */
  peek(orgSlug: string, projectSlug: string): LiveProject | null | undefined {
    return this.cache.get(projectCacheKey(orgSlug, projectSlug));
  }

  /** `fresh` for a MISS: the current settings and secrets. */
  async bySlugs(orgSlug: string, projectSlug: string, opts: { fresh?: boolean } = {}): Promise<LiveProject> {
    const cacheKey = projectCacheKey(orgSlug, projectSlug);
    let project = opts.fresh ? undefined : this.cache.get(cacheKey);
    if (project === undefined) {
      const row = await projectRepository.findProjectBySlugs(this.deps.db, orgSlug, projectSlug);
      project = row ? toLiveProject(row) : null;
      const ttl = this.deps.ttlMs ?? 30_000;
      this.cache.set(cacheKey, project, project ? ttl : Math.min(ttl, MISSING_PROJECT_TTL_MS));
    }
    if (!project) throw new NotFoundError('Project not found');
    return project;
  }

  clear(): void {
    this.cache.clear();
  }
}

function projectCacheKey(orgSlug: string, projectSlug: string): string {
  return `${orgSlug}/${projectSlug}`;
}

function toLiveProject(row: ProjectWithOrg): LiveProject {
  return {
    id: row.id,
    organizationId: row.organizationId,
    orgSlug: row.orgSlug,
    slug: row.slug,
    settings: row.settings ?? {},
    liveSigningSecret: row.liveSigningSecret,
    previousLiveSigningSecret: row.previousLiveSigningSecret,
    previousLiveSigningSecretExpiresAt: row.previousLiveSigningSecretExpiresAt,
  };
}

/** Omitted parameters take the project's defaults, so `?prompt=x` and `?prompt=x&aspectRatio=<default>` share an entry. */
export function resolveLiveParams(settings: ProjectSettings, q: LiveQuery, models: ModelSettings): LiveParams {
  const aspectRatio = q.aspectRatio ?? settings.defaultAspectRatio ?? '1:1';
  // A model option the model lacks is a 400 naming it (SPEC §13).
  const choice = chooseModel(models, settings, { model: q.model, imageSize: q.imageSize, aspectRatio });
  return {
    prompt: normalizeLivePrompt(q.prompt),
    aspectRatio,
    autoEnhance: q.autoEnhance ?? settings.autoEnhanceDefault ?? true,
    template: q.template ?? 'general',
    model: choice.model,
    imageSize: choice.imageSize,
  };
}
