import { flowRepository, generationRepository, imageRepository, projectRepository, type GenerationRow } from '@banatie/db';
import { isUuid } from './alias.js';
import { resolveReferenceImages } from './alias-resolver.js';
import type { ProjectContext } from './auth.js';
import { ConflictError, NotFoundError, ServiceUnavailableError } from './errors.js';
import { outputImageIdFor } from './generation-processor.js';
import { deadlineFor, modelSettingsOf, presentGeneration, type GenerationDeps } from './generation.service.js';
import type { ImageSize } from '@banatie/contracts';
import { checkReferenceCount, chooseModel, defaultModelFor, requireAllowedModel, type ModelChoice } from './models.js';
import { deleteImageRow } from './image.service.js';
import type { ObjectStorage } from './ports.js';
import type { GenerationDto } from './presenters.js';
import { requireFlow } from './flow.service.js';

export type LifecycleDeps = GenerationDeps & { storage: ObjectStorage };

async function findLiveGeneration(deps: Pick<GenerationDeps, 'db'>, ctx: ProjectContext, id: string): Promise<GenerationRow> {
  const row = isUuid(id) ? await generationRepository.findGeneration(deps.db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!row) throw new NotFoundError('Generation not found');
  return row;
}

async function notify(deps: GenerationDeps, row: GenerationRow): Promise<void> {
  try {
    await deps.onStatusChange?.(row);
  } catch (err) {
    deps.logger?.warn({ err, generationId: row.id }, 'status notification failed');
  }
}

/**
 * Runs a generation again in place: its reference aliases are resolved anew in
 * its flow (never to its own output), the worker applies the project settings
 * current then, and the output replaces the bytes of the same image id.
 */
async function startRun(
  deps: GenerationDeps,
  ctx: ProjectContext,
  row: GenerationRow,
  changes: { prompt?: string; aspectRatio?: string; model?: ModelChoice } = {},
): Promise<GenerationDto> {
  const { references } = await resolveReferenceImages(
    deps.db,
    ctx.projectId,
    { explicit: row.requested_references, prompt: changes.prompt ?? row.original_prompt },
    { flowId: row.flow_id, excludeImageId: row.output_image_id ?? outputImageIdFor(row.id) },
  );
  const at = deps.clock.now();
  const model = changes.model?.model ?? row.model;
  if (model) checkReferenceCount(model, references.length);
  const next = await generationRepository.startGenerationRun(deps.db, ctx.projectId, row.id, row.run, {
    referenceImages: JSON.stringify(references),
    prompt: changes.prompt,
    aspectRatio: changes.aspectRatio,
    model: changes.model,
    at,
    deadlineAt: deadlineFor(deps, at),
  });
  if (!next) throw new ConflictError('The generation changed meanwhile; retry');
  try {
    await deps.queue.enqueueGeneration({ generationId: next.id, run: next.run, projectId: next.project_id, model: next.model ?? undefined });
  } catch (err) {
    // The row stays pending for this run; the sweeper re-enqueues it once Redis is back.
    deps.logger?.warn({ err, generationId: next.id }, 'regeneration enqueue failed');
    throw new ServiceUnavailableError('Queue unavailable; the regeneration will start when it is back');
  }
  await notify(deps, next);
  return presentGeneration(deps, ctx, next);
}

export async function regenerateGeneration(deps: GenerationDeps, ctx: ProjectContext, id: string): Promise<GenerationDto> {
  return startRun(deps, ctx, await findLiveGeneration(deps, ctx, id));
}

/** POST /flows/:id/regenerate: the flow's latest generation. */
export async function regenerateFlow(deps: GenerationDeps, ctx: ProjectContext, flowId: string): Promise<GenerationDto> {
  const id = await requireFlow(deps.db, ctx, flowId);
  const latest = await generationRepository.findLatestFlowGeneration(deps.db, ctx.projectId, id);
  if (!latest) throw new NotFoundError('Generation not found');
  return startRun(deps, ctx, latest);
}

export interface GenerationUpdate {
  prompt?: string;
  aspectRatio?: string;
  /** A uuid attaches to that flow of this project, null detaches. */
  flowId?: string | null;
  meta?: Record<string, unknown>;
  model?: string;
  imageSize?: string;
  groundWithSearch?: boolean;
}

/**
 * PUT /generations/:id: flowId and meta are stored; a changed prompt, aspect
 * ratio, model, image size or grounding regenerates in place.
 */
export async function updateGeneration(deps: GenerationDeps, ctx: ProjectContext, id: string, patch: GenerationUpdate): Promise<GenerationDto> {
  const row = await findLiveGeneration(deps, ctx, id);
  const model = await modelChange(deps, ctx, row, patch);
  const flowId = patch.flowId ? await requireFlow(deps.db, ctx, patch.flowId) : patch.flowId;
  const now = deps.clock.now();
  const updated = await deps.db.transaction().execute(async (tx) => {
    const r = await generationRepository.updateGenerationFields(
      tx,
      ctx.projectId,
      row.id,
      {
        ...(flowId !== undefined ? { flow_id: flowId } : {}),
        ...(patch.meta !== undefined ? { meta: JSON.stringify(patch.meta) } : {}),
      },
      now,
    );
    if (flowId !== undefined && row.output_image_id) {
      await imageRepository.updateImage(tx, ctx.projectId, row.output_image_id, { flow_id: flowId }, now);
    }
    if (flowId) await flowRepository.touchFlow(tx, flowId, now);
    return r;
  });
  if (!updated) throw new NotFoundError('Generation not found');
  const changes = {
    ...(patch.prompt !== undefined && patch.prompt !== row.original_prompt ? { prompt: patch.prompt } : {}),
    ...(patch.aspectRatio !== undefined && patch.aspectRatio !== row.aspect_ratio ? { aspectRatio: patch.aspectRatio } : {}),
    ...(model ? { model } : {}),
  };
  if (Object.keys(changes).length > 0) return startRun(deps, ctx, updated, changes);
  return presentGeneration(deps, ctx, updated);
}

/**
 * The model options after a PUT, checked together (a model without the stored
 * size or grounding is a 400 naming the option), or undefined when unchanged.
 * A new model without a size keeps the stored size when it has it.
 */
async function modelChange(deps: GenerationDeps, ctx: ProjectContext, row: GenerationRow, patch: GenerationUpdate): Promise<ModelChoice | undefined> {
  if (patch.model === undefined && patch.imageSize === undefined && patch.groundWithSearch === undefined && patch.aspectRatio === undefined) return undefined;
  const settings = modelSettingsOf(deps);
  const project = (await projectRepository.findProjectById(deps.db, ctx.projectId))?.settings ?? null;
  const model = patch.model ?? row.model ?? defaultModelFor(settings, project);
  const storedSizeFits = row.image_size !== null && requireAllowedModel(settings, model).imageSizes.includes(row.image_size as ImageSize);
  const choice = chooseModel(settings, project, {
    model,
    imageSize: patch.imageSize ?? (storedSizeFits ? row.image_size! : undefined),
    groundWithSearch: patch.groundWithSearch ?? row.ground_with_search,
    aspectRatio: patch.aspectRatio,
  });
  const changed = choice.model !== row.model || choice.imageSize !== row.image_size || choice.groundWithSearch !== row.ground_with_search;
  return changed ? choice : undefined;
}

/**
 * Soft delete (an unfinished generation is cancelled too). The output image is
 * hard-deleted unless it carries a project or flow alias; then it stays,
 * detached from the generation.
 */
export async function deleteGeneration(deps: LifecycleDeps, ctx: ProjectContext, id: string): Promise<{ id: string }> {
  const row = await findLiveGeneration(deps, ctx, id);
  const now = deps.clock.now();
  const deleted = await generationRepository.softDeleteGeneration(deps.db, ctx.projectId, row.id, now);
  if (!deleted) throw new NotFoundError('Generation not found');
  if (deleted.status !== row.status) await notify(deps, deleted);
  const imageId = deleted.output_image_id;
  if (!imageId) return { id: row.id };
  const image = await imageRepository.findImage(deps.db, ctx.projectId, imageId);
  if (!image) return { id: row.id };
  const flowAliases = (await imageRepository.flowAliasesOfImages(deps.db, ctx.projectId, [image.id])).get(image.id) ?? [];
  if (image.alias || flowAliases.length > 0) {
    await deps.db.transaction().execute(async (tx) => {
      await generationRepository.detachOutputImage(tx, row.id, now);
      await imageRepository.updateImage(tx, ctx.projectId, image.id, { generation_id: null }, now);
    });
  } else {
    await deleteImageRow(deps, ctx.projectId, image.id);
  }
  return { id: row.id };
}
