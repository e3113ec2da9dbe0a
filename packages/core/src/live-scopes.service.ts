import { buildLiveUrl } from '@banatie/contracts';
import { liveRepository, projectRepository, type Db, type LiveScope, type LiveScopeWithStats } from '@banatie/db';
import type { ProjectContext } from './auth.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { normalizeAllowedOrigin } from './live-origins.js';
import { signLiveUrl } from './live-signing.js';
import type { Clock } from './ports.js';

export { LIVE_SCOPE_SLUG } from '@banatie/contracts';

export interface LiveScopeDto {
  id: string;
  projectId: string;
  slug: string;
  allowNewGenerations: boolean;
  newGenerationsLimit: number;
  allowedOrigins: string[];
  requireSignature: boolean;
  meta: Record<string, unknown>;
  currentGenerations: number;
  lastGeneratedAt: string | null;
  hitCount: number;
  missCount: number;
  entryCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface LiveScopeSettings {
  allowNewGenerations?: boolean;
  newGenerationsLimit?: number;
  allowedOrigins?: string[];
  requireSignature?: boolean;
  meta?: Record<string, unknown>;
}

interface Deps {
  db: Db;
  clock: Clock;
}

export function toLiveScopeDto(row: LiveScope & { entry_count?: number }): LiveScopeDto {
  return {
    id: row.id,
    projectId: row.project_id,
    slug: row.slug,
    allowNewGenerations: row.allow_new_generations,
    newGenerationsLimit: row.new_generations_limit,
    allowedOrigins: row.allowed_origins,
    requireSignature: row.require_signature,
    meta: row.meta,
    currentGenerations: row.current_generations,
    lastGeneratedAt: row.last_generated_at ? row.last_generated_at.toISOString() : null,
    hitCount: Number(row.hit_count),
    missCount: Number(row.miss_count),
    entryCount: row.entry_count ?? 0,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function origins(values: string[]): string[] {
  const out: string[] = [];
  for (const [i, value] of values.entries()) {
    const origin = normalizeAllowedOrigin(value);
    if (!origin) throw new ValidationError(`Invalid origin: ${value}`, [{ path: `allowedOrigins.${i}`, message: 'must be scheme://host[:port], optionally https://*.domain' }]);
    if (!out.includes(origin)) out.push(origin);
  }
  return out;
}

function toColumns(s: LiveScopeSettings) {
  return {
    ...(s.allowNewGenerations !== undefined && { allow_new_generations: s.allowNewGenerations }),
    ...(s.newGenerationsLimit !== undefined && { new_generations_limit: s.newGenerationsLimit }),
    ...(s.allowedOrigins !== undefined && { allowed_origins: JSON.stringify(origins(s.allowedOrigins)) }),
    ...(s.requireSignature !== undefined && { require_signature: s.requireSignature }),
    ...(s.meta !== undefined && { meta: JSON.stringify(s.meta) }),
  };
}

async function withStats(deps: Deps, ctx: ProjectContext, slug: string): Promise<LiveScopeWithStats> {
  const row = await liveRepository.findScopeWithStats(deps.db, ctx.projectId, slug);
  if (!row) throw new NotFoundError('Scope not found');
  return row;
}

export async function createScope(deps: Deps, ctx: ProjectContext, input: LiveScopeSettings & { slug: string }): Promise<LiveScopeDto> {
  const now = deps.clock.now();
  const { slug, ...settings } = input;
  const cols = toColumns(settings);
  const row = await liveRepository.insertScope(deps.db, ctx.projectId, slug, {
    allowed_origins: '[]',
    meta: '{}',
    ...cols,
    created_at: now,
    updated_at: now,
  });
  if (!row) throw new ConflictError('Scope already exists');
  return toLiveScopeDto(row);
}

export async function getScope(deps: Deps, ctx: ProjectContext, slug: string): Promise<LiveScopeDto> {
  return toLiveScopeDto(await withStats(deps, ctx, slug));
}

export async function listScopes(deps: Deps, ctx: ProjectContext, page: { limit: number; offset: number }): Promise<{ items: LiveScopeDto[]; total: number }> {
  const { rows, total } = await liveRepository.listScopes(deps.db, ctx.projectId, page);
  return { items: rows.map(toLiveScopeDto), total };
}

export async function updateScope(deps: Deps, ctx: ProjectContext, slug: string, changes: LiveScopeSettings): Promise<LiveScopeDto> {
  const updated = await liveRepository.updateScope(deps.db, ctx.projectId, slug, toColumns(changes), deps.clock.now());
  if (!updated) throw new NotFoundError('Scope not found');
  return toLiveScopeDto(await withStats(deps, ctx, slug));
}

/** Deletes the scope and its cache entries (their images stay); cached copies are dropped through the notification. */
export async function deleteScope(deps: Deps, ctx: ProjectContext, slug: string): Promise<{ id: string }> {
  const id = await liveRepository.deleteScope(deps.db, ctx.projectId, slug);
  if (!id) throw new NotFoundError('Scope not found');
  return { id };
}

export interface SignLiveUrlInput {
  scope: string;
  prompt: string;
  aspectRatio?: string;
  autoEnhance?: boolean;
  template?: string;
  model?: string;
  imageSize?: string;
  /** Unix seconds. */
  expiresAt?: number;
}

/** `POST /api/v1/live/sign`: a full public live URL signed with the project's current secret. */
export async function signUrl(deps: Deps & { publicBaseUrl: string }, ctx: ProjectContext, input: SignLiveUrlInput): Promise<{ url: string }> {
  if (input.expiresAt !== undefined && input.expiresAt * 1000 <= deps.clock.now().getTime()) {
    throw new ValidationError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }]);
  }
  const project = await projectRepository.findProjectById(deps.db, ctx.projectId);
  if (!project) throw new NotFoundError('Project not found');
  const url = buildLiveUrl(deps.publicBaseUrl, { org: ctx.orgSlug, project: ctx.projectSlug, ...input });
  return { url: signLiveUrl(url, project.liveSigningSecret, { expiresAt: input.expiresAt }) };
}
