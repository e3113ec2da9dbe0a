import { MAX_FLOW_ALIASES_PER_REQUEST } from '@banatie/contracts';
import { flowRepository, imageRepository, type Db, type FlowWithCounts } from '@banatie/db';
import { aliasProblem, isUuid } from './alias.js';
import type { ProjectContext } from './auth.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { Clock } from './ports.js';

export interface FlowDto {
  id: string;
  projectId: string;
  aliases: Record<string, string>;
  generationCount: number;
  imageCount: number;
  meta: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface FlowDeps {
  db: Db;
  clock: Clock;
}

export function toFlowDto(row: FlowWithCounts): FlowDto {
  return {
    id: row.id,
    projectId: row.project_id,
    aliases: row.aliases,
    generationCount: row.generation_count,
    imageCount: row.image_count,
    meta: row.meta,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The flow's id when it belongs to this project, else 404 (malformed ids included). */
export async function requireFlow(db: Db, ctx: ProjectContext, id: string): Promise<string> {
  const flow = isUuid(id) ? await flowRepository.findFlow(db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!flow) throw new NotFoundError('Flow not found');
  return flow.id;
}

export async function listFlows(deps: FlowDeps, ctx: ProjectContext, page: { limit: number; offset: number }): Promise<{ items: FlowDto[]; total: number }> {
  const { rows, total } = await flowRepository.listFlows(deps.db, ctx.projectId, page);
  return { items: rows.map(toFlowDto), total };
}

export async function getFlow(deps: FlowDeps, ctx: ProjectContext, id: string): Promise<FlowDto> {
  const row = isUuid(id) ? await flowRepository.findFlowWithCounts(deps.db, ctx.projectId, id.toLowerCase()) : undefined;
  if (!row) throw new NotFoundError('Flow not found');
  return toFlowDto(row);
}

/** Merges aliases into the flow's map; every value must be an image of this project. */
export async function setFlowAliases(deps: FlowDeps, ctx: ProjectContext, id: string, aliases: Record<string, string>): Promise<FlowDto> {
  // The API's schema says the same; here too so no caller makes one request do unbounded lookups.
  if (Object.keys(aliases).length > MAX_FLOW_ALIASES_PER_REQUEST) {
    throw new ValidationError(`At most ${MAX_FLOW_ALIASES_PER_REQUEST} aliases per request`, { field: 'aliases' });
  }
  const flowId = await requireFlow(deps.db, ctx, id);
  const normalized: Record<string, string> = {};
  for (const [alias, imageId] of Object.entries(aliases)) {
    const problem = aliasProblem(alias);
    if (problem) throw new ValidationError(problem, { field: `aliases.${alias}` });
    const image = isUuid(imageId) ? await imageRepository.findImage(deps.db, ctx.projectId, imageId.toLowerCase()) : undefined;
    if (!image) throw new NotFoundError('Image not found');
    normalized[alias] = image.id;
  }
  await flowRepository.mergeFlowAliases(deps.db, flowId, normalized, deps.clock.now());
  return getFlow(deps, ctx, flowId);
}

export async function removeFlowAlias(deps: FlowDeps, ctx: ProjectContext, id: string, alias: string): Promise<FlowDto> {
  const flowId = await requireFlow(deps.db, ctx, id);
  if (!(await flowRepository.removeFlowAlias(deps.db, ctx.projectId, flowId, alias, deps.clock.now()))) {
    throw new NotFoundError('Alias not found');
  }
  return getFlow(deps, ctx, flowId);
}

/** Hard delete; generations and images stay with flowId null (foreign keys SET NULL). */
export async function deleteFlow(deps: FlowDeps, ctx: ProjectContext, id: string): Promise<{ id: string }> {
  const flowId = await requireFlow(deps.db, ctx, id);
  await flowRepository.deleteFlow(deps.db, ctx.projectId, flowId);
  return { id: flowId };
}
