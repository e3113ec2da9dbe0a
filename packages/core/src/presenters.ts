import type { GenerationRow, ImageRow, ProjectSettings, ProjectWithOrg, ReferenceImage } from '@banatie/db';
import { canSeeSecrets, type KeyRole } from './key-roles.js';
import { resolveLivePolicy, type LivePolicy } from './live-policy.js';
import { secretsView, type ProjectSecretsView } from './project-secrets.js';

export interface UrlContext {
  publicBaseUrl: string;
  orgSlug: string;
  projectSlug: string;
}

export interface ImageDto {
  id: string;
  projectId: string;
  flowId: string | null;
  generationId: string | null;
  source: 'generated' | 'uploaded';
  url: string;
  /** `url` pinned to this version (`?v=`): served immutable, a new version gets a new URL. */
  versionedUrl: string;
  mimeType: string;
  fileSize: number;
  width: number;
  height: number;
  alias: string | null;
  flowAliases: string[];
  focalPoint: { x: number; y: number } | null;
  meta: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface GenerationDto {
  id: string;
  projectId: string;
  flowId: string | null;
  status: string;
  prompt: string;
  originalPrompt: string;
  autoEnhance: boolean;
  template: string;
  aspectRatio: string;
  referenceImages: ReferenceImage[];
  alias: string | null;
  flowAlias: string | null;
  outputImageId: string | null;
  outputImage: ImageDto | null;
  error: { code: string; message: string } | null;
  attempts: number;
  processingTimeMs: number | null;
  meta: Record<string, unknown>;
  webhookUrl: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  deletedAt: string | null;
  usage: GenerationUsageDto;
  model: string | null;
  imageSize: string | null;
  groundWithSearch: boolean;
  /** The batch this generation is an item of (SPEC §13). */
  batchId: string | null;
  /** Pending only: queued jobs that will be taken before this one (SPEC §12); else null. */
  queuePosition: number | null;
  /** Submit only: prompt aliases that did not resolve. */
  warnings?: string[];
}

export interface GenerationUsageDto {
  providerCalls: number;
  inputTokens: number;
  outputTokens: number;
  thoughtTokens: number;
  costUsd: number;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Rows read before migration 0012 or built by hand may lack the columns: zero usage. */
function usageOf(row: GenerationRow): GenerationUsageDto {
  return {
    providerCalls: Number(row.usage_provider_calls ?? 0),
    inputTokens: Number(row.usage_input_tokens ?? 0),
    outputTokens: Number(row.usage_output_tokens ?? 0),
    thoughtTokens: Number(row.usage_thought_tokens ?? 0),
    costUsd: roundUsd(Number(row.usage_cost_usd ?? 0)),
  };
}

/** Costs are shown to the micro-dollar's hundredth: sums of float rates otherwise print as 0.039000000000000004. */
export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

export function imageUrl(ctx: UrlContext, imageId: string): string {
  return `${ctx.publicBaseUrl}/cdn/${encodeURIComponent(ctx.orgSlug)}/${encodeURIComponent(ctx.projectSlug)}/img/${imageId}`;
}

export function toImageDto(ctx: UrlContext, row: ImageRow, flowAliases: string[] = []): ImageDto {
  return {
    id: row.id,
    projectId: row.project_id,
    flowId: row.flow_id,
    generationId: row.generation_id,
    source: row.source,
    url: imageUrl(ctx, row.id),
    versionedUrl: `${imageUrl(ctx, row.id)}?v=${row.version}`,
    mimeType: row.mime_type,
    fileSize: row.file_size,
    width: row.width,
    height: row.height,
    alias: row.alias,
    flowAliases,
    focalPoint: row.focal_point,
    meta: row.meta,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toGenerationDto(ctx: UrlContext, row: GenerationRow, image: ImageDto | null): GenerationDto {
  return {
    id: row.id,
    projectId: row.project_id,
    flowId: row.flow_id,
    status: row.status,
    prompt: row.prompt,
    originalPrompt: row.original_prompt,
    autoEnhance: row.auto_enhance,
    template: row.template,
    aspectRatio: row.aspect_ratio,
    referenceImages: row.reference_images,
    alias: row.alias,
    flowAlias: row.flow_alias,
    outputImageId: row.output_image_id,
    outputImage: image,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? row.error_code } : null,
    attempts: row.attempts,
    processingTimeMs: row.processing_time_ms,
    meta: row.meta,
    webhookUrl: row.webhook_url,
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    updatedAt: row.updated_at.toISOString(),
    deletedAt: iso(row.deleted_at),
    usage: usageOf(row),
    model: row.model,
    imageSize: row.image_size,
    groundWithSearch: row.ground_with_search,
    batchId: row.batch_id,
    queuePosition: null,
  };
}

export interface ProjectDto {
  id: string;
  slug: string;
  organizationId: string;
  orgSlug: string;
  settings: Required<{ [K in Exclude<keyof ProjectSettings, 'live'>]: ProjectSettings[K] | null }> & { live: LivePolicy };
  /** Admin keys only (SPEC §16), as are `liveSigningSecret` and `secrets`. */
  webhookSecret?: string;
  liveSigningSecret?: string;
  secrets?: ProjectSecretsView;
  createdAt: string;
  updatedAt: string;
  /** GET /project only: the operator's limits with the current usage (SPEC §12). */
  limits?: LimitsView;
}

/** A project's limits (null = unlimited) with what it used of them this UTC day and month. */
export interface LimitsView {
  generationsPerDay: number | null;
  monthlyCostUsd: number | null;
  maxConcurrency: number | null;
  usage: { generationsToday: number; costUsdThisMonth: number };
}

/** The project as a key of `role` sees it at `now` (the secrets only for admin keys). */
export function toProjectDto(p: ProjectWithOrg, viewer: { role: KeyRole; now: Date }): ProjectDto {
  const secrets = canSeeSecrets(viewer.role)
    ? { webhookSecret: p.webhookSecret, liveSigningSecret: p.liveSigningSecret, secrets: secretsView(p, viewer.now) }
    : {};
  return {
    id: p.id,
    slug: p.slug,
    organizationId: p.organizationId,
    orgSlug: p.orgSlug,
    settings: {
      stylePrompt: p.settings.stylePrompt ?? null,
      defaultAspectRatio: p.settings.defaultAspectRatio ?? null,
      webhookUrl: p.settings.webhookUrl ?? null,
      autoEnhanceDefault: p.settings.autoEnhanceDefault ?? null,
      live: resolveLivePolicy(p.settings.live),
      defaultModel: p.settings.defaultModel ?? null,
      defaultImageSize: p.settings.defaultImageSize ?? null,
    },
    ...secrets,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
