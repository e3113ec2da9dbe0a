import { DEFAULT_SECRET_GRACE_SECONDS, MAX_SECRET_GRACE_SECONDS, type ProjectSecretKind } from '@banatie/contracts';
import { projectRepository, type Db, type ProjectSettings } from '@banatie/db';
import { generateLiveSigningSecret, generateWebhookSecret } from './auth.js';
import { NotFoundError, ValidationError } from './errors.js';
import { mergeLivePolicy } from './live-policy.js';
import type { KeyRole } from './key-roles.js';
import type { Clock } from './ports.js';
import { toProjectDto, type ProjectDto } from './presenters.js';

export interface ProjectDeps {
  db: Db;
  clock: Clock;
}

/** The project as a key of `role` sees it (standard keys: no secrets). */
export async function getProject(deps: ProjectDeps, projectId: string, role: KeyRole): Promise<ProjectDto> {
  const p = await projectRepository.findProjectById(deps.db, projectId);
  if (!p) throw new NotFoundError('Project not found');
  return toProjectDto(p, { role, now: deps.clock.now() });
}

/** For the operator's CLI: everything, secrets included. */
export async function getProjectBySlugs(deps: ProjectDeps, orgSlug: string, projectSlug: string): Promise<ProjectDto> {
  const p = await projectRepository.findProjectBySlugs(deps.db, orgSlug, projectSlug);
  if (!p) throw new NotFoundError('Project not found');
  return toProjectDto(p, { role: 'admin', now: deps.clock.now() });
}

/** Merges the given settings; a null value clears that setting. An admin action: answers with the admin view. */
export async function updateProjectSettings(deps: ProjectDeps, projectId: string, patch: ProjectSettings): Promise<ProjectDto> {
  await deps.db.transaction().execute(async (tx) => {
    const p = await projectRepository.findProjectById(tx, projectId);
    if (!p) throw new NotFoundError('Project not found');
    const merged: ProjectSettings = { ...p.settings };
    for (const [k, v] of Object.entries(patch) as [keyof ProjectSettings, unknown][]) {
      if (v === undefined) continue;
      if (k === 'live') {
        const live = mergeLivePolicy(p.settings.live, patch.live ?? null);
        if (live) merged.live = live;
        else delete merged.live;
        continue;
      }
      if (v === null) delete merged[k];
      else (merged as Record<string, unknown>)[k] = v;
    }
    await projectRepository.updateProjectSettings(tx, projectId, merged);
  });
  return getProject(deps, projectId, 'admin');
}

/**
 * A new secret signs from now on; the replaced one stays valid for
 * `graceSeconds` (default one day; 0 ends it at once). Only one replaced secret
 * is kept per kind: rotating again within a grace period ends the older one.
 */
export async function rotateProjectSecret(
  deps: ProjectDeps,
  projectId: string,
  input: { secret: ProjectSecretKind; graceSeconds?: number },
): Promise<ProjectDto> {
  const graceSeconds = input.graceSeconds ?? DEFAULT_SECRET_GRACE_SECONDS;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_SECRET_GRACE_SECONDS) {
    throw new ValidationError(`graceSeconds must be an integer from 0 to ${MAX_SECRET_GRACE_SECONDS}`);
  }
  const secret = input.secret === 'webhook' ? generateWebhookSecret() : generateLiveSigningSecret();
  const previousExpiresAt = graceSeconds > 0 ? new Date(deps.clock.now().getTime() + graceSeconds * 1000) : null;
  if (!(await projectRepository.rotateProjectSecret(deps.db, projectId, input.secret, secret, previousExpiresAt))) {
    throw new NotFoundError('Project not found');
  }
  return getProject(deps, projectId, 'admin');
}
