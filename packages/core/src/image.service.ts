import { flowRepository, imageRepository, type Db, type ImageListFilter, type ImageRow } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { aliasProblem, isUuid } from './alias.js';
import { resolveAlias, type AliasScope } from './alias-resolver.js';
import type { ProjectContext } from './auth.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import type { Clock, ObjectStorage } from './ports.js';
import { toImageDto, type ImageDto } from './presenters.js';
import { imageVariantPrefix } from './storage-keys.js';

export interface ImageDeps {
  db: Db;
  storage: ObjectStorage;
  clock: Clock;
  publicBaseUrl: string;
  logger?: Logger;
}

type ReadDeps = Pick<ImageDeps, 'db' | 'publicBaseUrl'>;

export class AliasConflictError extends ConflictError {
  constructor() {
    super('Alias already exists', 'ALIAS_CONFLICT');
  }
}

export const isUniqueViolation = (err: unknown): boolean => (err as { code?: string } | null)?.code === '23505';

export async function presentImages(deps: ReadDeps, ctx: ProjectContext, rows: ImageRow[]): Promise<ImageDto[]> {
  const flowAliases = await imageRepository.flowAliasesOfImages(deps.db, ctx.projectId, rows.map((r) => r.id));
  const urlCtx = { publicBaseUrl: deps.publicBaseUrl, orgSlug: ctx.orgSlug, projectSlug: ctx.projectSlug };
  return rows.map((row) => toImageDto(urlCtx, row, flowAliases.get(row.id)));
}

export async function presentImage(deps: ReadDeps, ctx: ProjectContext, row: ImageRow): Promise<ImageDto> {
  return (await presentImages(deps, ctx, [row]))[0]!;
}

/** The image of this project, or 404 (malformed ids included). */
export async function findOwnImage(db: Db, ctx: ProjectContext, id: string): Promise<ImageRow> {
  const row = isUuid(id) ? await imageRepository.findImage(db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!row) throw new NotFoundError('Image not found');
  return row;
}

export async function listImages(deps: ReadDeps, ctx: ProjectContext, filter: ImageListFilter): Promise<{ items: ImageDto[]; total: number }> {
  const { rows, total } = await imageRepository.listImages(deps.db, ctx.projectId, filter);
  return { items: await presentImages(deps, ctx, rows), total };
}

export async function getImage(deps: ReadDeps, ctx: ProjectContext, id: string): Promise<ImageDto> {
  return presentImage(deps, ctx, await findOwnImage(deps.db, ctx, id));
}

export interface ImageUpdate {
  focalPoint?: { x: number; y: number } | null;
  meta?: Record<string, unknown>;
  /** A string sets the project alias (409 when another image holds it); null removes it. */
  alias?: string | null;
}

/** PUT /images/:id and PUT /images/:id/alias share this one code path. */
export async function updateImage(deps: ImageDeps, ctx: ProjectContext, id: string, patch: ImageUpdate): Promise<ImageDto> {
  if (typeof patch.alias === 'string') {
    const problem = aliasProblem(patch.alias);
    if (problem) throw new ValidationError(problem, { field: 'alias' });
  }
  const current = await findOwnImage(deps.db, ctx, id);
  let row: ImageRow | undefined;
  try {
    row = await imageRepository.updateImage(
      deps.db,
      ctx.projectId,
      current.id,
      {
        ...(patch.focalPoint !== undefined ? { focal_point: patch.focalPoint === null ? null : JSON.stringify(patch.focalPoint) } : {}),
        ...(patch.meta !== undefined ? { meta: JSON.stringify(patch.meta) } : {}),
        ...(patch.alias !== undefined ? { alias: patch.alias } : {}),
      },
      deps.clock.now(),
    );
  } catch (err) {
    // The unique index decides races: of two concurrent assignments one wins.
    if (isUniqueViolation(err)) throw new AliasConflictError();
    throw err;
  }
  if (!row) throw new NotFoundError('Image not found');
  if (row.version !== current.version && patch.focalPoint !== undefined) await dropStaleVariants(deps, row);
  return presentImage(deps, ctx, row);
}

/** Renditions cropped around the old focal point (their rows went with the update); best effort, the image is already changed. */
async function dropStaleVariants(deps: ImageDeps, row: ImageRow): Promise<void> {
  await deps.storage.deletePrefix(imageVariantPrefix(row.project_id, row.id)).catch((err) => deps.logger?.warn({ err, imageId: row.id }, 'could not drop stale variants'));
}

export interface ResolvedImageDto {
  image: ImageDto;
  resolution: { alias: string; scope: AliasScope; flowId: string | null };
}

export async function resolveImageAlias(deps: ReadDeps, ctx: ProjectContext, alias: string, flowId?: string): Promise<ResolvedImageDto> {
  if (flowId !== undefined && !(isUuid(flowId) && (await flowRepository.findFlow(deps.db, ctx.projectId, flowId.toLowerCase())))) {
    throw new NotFoundError('Flow not found');
  }
  const resolved = await resolveAlias(deps.db, ctx.projectId, alias, { flowId: flowId?.toLowerCase() ?? null });
  if (!resolved) throw new NotFoundError('Image not found');
  return {
    image: await presentImage(deps, ctx, resolved.image),
    resolution: { alias: resolved.alias, scope: resolved.scope, flowId: resolved.flowId },
  };
}

/**
 * Hard delete: the object and its variants are removed first (if storage is
 * down the client gets 503 and nothing changed, so a retry finishes the job and
 * no orphan bytes stay behind), then the row goes with every flow alias
 * pointing at it; generations keep outputImageId null and live entries go
 * through foreign keys.
 */
export async function deleteImage(deps: ImageDeps, ctx: ProjectContext, id: string): Promise<{ id: string }> {
  const current = await findOwnImage(deps.db, ctx, id);
  await deleteImageRow(deps, ctx.projectId, current.id);
  return { id: current.id };
}

export async function deleteImageRow(deps: ImageDeps, projectId: string, imageId: string): Promise<void> {
  const row = await imageRepository.findImage(deps.db, projectId, imageId);
  if (!row) return;
  await deps.storage.delete(row.storage_key);
  await deps.storage.deletePrefix(imageVariantPrefix(projectId, row.id));
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (tx) => {
    await flowRepository.removeImageFromFlowAliases(tx, projectId, imageId, now);
    await imageRepository.deleteImage(tx, projectId, imageId);
  });
}
