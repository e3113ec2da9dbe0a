import { projectRepository, type Db, type ProjectSettings } from '@banatie/db';
import { generateLiveSigningSecret, generateWebhookSecret } from './auth.js';
import { NotFoundError } from './errors.js';
import { toProjectDto, type ProjectDto } from './presenters.js';

export async function getProject(db: Db, projectId: string): Promise<ProjectDto> {
  const p = await projectRepository.findProjectById(db, projectId);
  if (!p) throw new NotFoundError('Project not found');
  return toProjectDto(p);
}

export async function getProjectBySlugs(db: Db, orgSlug: string, projectSlug: string): Promise<ProjectDto> {
  const p = await projectRepository.findProjectBySlugs(db, orgSlug, projectSlug);
  if (!p) throw new NotFoundError('Project not found');
  return toProjectDto(p);
}

/** Merges the given settings; a null value clears that setting. */
export async function updateProjectSettings(db: Db, projectId: string, patch: ProjectSettings): Promise<ProjectDto> {
  await db.transaction().execute(async (tx) => {
    const p = await projectRepository.findProjectById(tx, projectId);
    if (!p) throw new NotFoundError('Project not found');
    const merged: ProjectSettings = { ...p.settings };
    for (const [k, v] of Object.entries(patch) as [keyof ProjectSettings, unknown][]) {
      if (v === undefined) continue;
      if (v === null) delete merged[k];
      else (merged as Record<string, unknown>)[k] = v;
    }
    await projectRepository.updateProjectSettings(tx, projectId, merged);
  });
  return getProject(db, projectId);
}

export async function rotateProjectSecret(db: Db, projectId: string, which: 'webhook' | 'live'): Promise<ProjectDto> {
  const secret = which === 'webhook' ? generateWebhookSecret() : generateLiveSigningSecret();
  await projectRepository.updateProjectSecret(db, projectId, which, secret);
  return getProject(db, projectId);
}
