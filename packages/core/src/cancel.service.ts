import { generationRepository } from '@banatie/db';
import { isUuid } from './alias.js';
import type { ProjectContext } from './auth.js';
import { ConflictError, NotFoundError } from './errors.js';
import { presentGeneration, type GenerationDeps } from './generation.service.js';
import type { GenerationDto } from './presenters.js';

/**
 * pending → cancelled and its job removed; processing → cancelled at once, and the
 * worker discards its result (its guarded success update finds the row cancelled);
 * terminal → 409. The event and the `generation.cancelled` webhook follow.
 */
export async function cancelGeneration(deps: GenerationDeps, ctx: ProjectContext, id: string): Promise<GenerationDto> {
  const row = isUuid(id) ? await generationRepository.findGeneration(deps.db, ctx.projectId, id) : undefined;
  if (!row) throw new NotFoundError('Generation not found');
  const cancelled = await generationRepository.markGenerationCancelled(deps.db, ctx.projectId, row.id, deps.clock.now());
  if (!cancelled) {
    const current = await generationRepository.findGeneration(deps.db, ctx.projectId, row.id);
    throw new ConflictError(`Generation is already ${current?.status ?? row.status} and cannot be cancelled`);
  }
  await deps.queue.withdrawGeneration({ generationId: cancelled.id, run: cancelled.run }).catch((err: unknown) =>
    deps.logger?.info({ err, generationId: row.id }, 'job of the cancelled generation not removed; it will skip itself'),
  );
  try {
    await deps.onStatusChange?.(cancelled);
  } catch (err) {
    // The sweeper re-sends lost webhooks; the cancel itself is committed.
    deps.logger?.warn({ err, generationId: row.id }, 'cancel notification failed');
  }
  return presentGeneration(deps, ctx, cancelled);
}
