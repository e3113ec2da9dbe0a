import { z } from 'zod';
import { ASPECT_RATIOS, GENERATION_STATUSES, IMAGE_SOURCES, KEY_ROLES, PROMPT_TEMPLATES } from './constants.js';
import { IMAGE_SIZES } from './models.js';

/**
 * Response objects exactly as the API returns them (strict: an extra field is
 * a drift the tests catch). The SDK uses only the inferred types; it does not
 * parse responses at runtime.
 */

const isoDate = z.iso.datetime();
const meta = z.record(z.string(), z.unknown());

export const imageSchema = z.strictObject({
  id: z.uuid(),
  projectId: z.uuid(),
  flowId: z.uuid().nullable(),
  generationId: z.uuid().nullable(),
  source: z.enum(IMAGE_SOURCES),
  url: z.string(),
  /** `url` with `?v=<version>`: cached immutably; regeneration and a new focal point give a new version. */
  versionedUrl: z.string(),
  mimeType: z.string(),
  fileSize: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  alias: z.string().nullable(),
  flowAliases: z.array(z.string()),
  focalPoint: z.strictObject({ x: z.number(), y: z.number() }).nullable(),
  meta,
  version: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const referenceImageSchema = z.strictObject({ imageId: z.uuid(), alias: z.string().nullable() });

export const generationErrorSchema = z.strictObject({ code: z.string(), message: z.string() });

/** What a generation's provider calls used and cost (SPEC §12), summed over every attempt and run. */
export const generationUsageSchema = z.strictObject({
  providerCalls: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  thoughtTokens: z.number().int(),
  costUsd: z.number(),
});

export const generationSchema = z.strictObject({
  id: z.uuid(),
  projectId: z.uuid(),
  flowId: z.uuid().nullable(),
  status: z.enum(GENERATION_STATUSES),
  prompt: z.string(),
  originalPrompt: z.string(),
  autoEnhance: z.boolean(),
  template: z.enum(PROMPT_TEMPLATES),
  aspectRatio: z.enum(ASPECT_RATIOS),
  referenceImages: z.array(referenceImageSchema),
  alias: z.string().nullable(),
  flowAlias: z.string().nullable(),
  outputImageId: z.uuid().nullable(),
  outputImage: imageSchema.nullable(),
  error: generationErrorSchema.nullable(),
  attempts: z.number().int(),
  processingTimeMs: z.number().int().nullable(),
  meta,
  webhookUrl: z.string().nullable(),
  createdAt: isoDate,
  startedAt: isoDate.nullable(),
  completedAt: isoDate.nullable(),
  updatedAt: isoDate,
  deletedAt: isoDate.nullable(),
  /** Pending only: how many queued jobs will be taken before this one (SPEC §12); otherwise null. */
  queuePosition: z.number().int().min(0).nullable(),
  model: z.string().nullable(),
  imageSize: z.enum(IMAGE_SIZES).nullable(),
  groundWithSearch: z.boolean(),
  batchId: z.uuid().nullable(),
  usage: generationUsageSchema,
});

/** A usage report's figures (SPEC §12): generations created in the range and provider calls made in it. */
export const usageFiguresSchema = z.strictObject({
  generations: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  providerCalls: z.number().int(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  thoughtTokens: z.number().int(),
  costUsd: z.number(),
});

export const usageReportSchema = z.strictObject({
  from: isoDate,
  to: isoDate,
  totals: usageFiguresSchema,
  groups: z.array(usageFiguresSchema.extend({ key: z.string() })),
});

/** A project's limits (null = unlimited). */
export const projectLimitsSchema = z.strictObject({
  generationsPerDay: z.number().int().nullable(),
  monthlyCostUsd: z.number().nullable(),
  maxConcurrency: z.number().int().nullable(),
});

/** The limits with what the project used of them: today (UTC) and this month. */
export const projectLimitsUsageSchema = projectLimitsSchema.extend({
  usage: z.strictObject({ generationsToday: z.number().int(), costUsdThisMonth: z.number() }),
});

/** What `POST /generations` (and regenerate) answer: the generation plus the prompt aliases that did not resolve. */
export const submittedGenerationSchema = generationSchema.extend({ warnings: z.array(z.string()) });

export const flowSchema = z.strictObject({
  id: z.uuid(),
  projectId: z.uuid(),
  aliases: z.record(z.string(), z.string()),
  generationCount: z.number().int(),
  imageCount: z.number().int(),
  meta,
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const resolvedImageSchema = z.strictObject({
  image: imageSchema,
  resolution: z.strictObject({ alias: z.string(), scope: z.enum(['technical', 'flow', 'project']), flowId: z.uuid().nullable() }),
});

export const liveScopeSchema = z.strictObject({
  id: z.uuid(),
  projectId: z.uuid(),
  slug: z.string(),
  allowNewGenerations: z.boolean(),
  newGenerationsLimit: z.number().int(),
  allowedOrigins: z.array(z.string()),
  requireSignature: z.boolean(),
  meta,
  currentGenerations: z.number().int(),
  lastGeneratedAt: isoDate.nullable(),
  hitCount: z.number().int(),
  missCount: z.number().int(),
  entryCount: z.number().int(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const projectSettingsSchema = z.strictObject({
  stylePrompt: z.string().nullable(),
  defaultAspectRatio: z.enum(ASPECT_RATIOS).nullable(),
  webhookUrl: z.string().nullable(),
  autoEnhanceDefault: z.boolean().nullable(),
  /** The project live policy (SPEC §11), defaults filled in. */
  live: z.strictObject({
    enabled: z.boolean(),
    autoCreateScopes: z.boolean(),
    scopeDefaults: z.strictObject({
      allowNewGenerations: z.boolean(),
      newGenerationsLimit: z.number().int(),
      allowedOrigins: z.array(z.string()),
      requireSignature: z.boolean(),
    }),
    maxScopes: z.number().int(),
    newGenerationsPerDay: z.number().int().nullable(),
  }),
  defaultModel: z.string().nullable(),
  defaultImageSize: z.enum(IMAGE_SIZES).nullable(),
});

/** GET /api/v1/models (SPEC §13). `pricing` comes from the pricing table; null until it is wired. */
export const modelSchema = z.strictObject({
  id: z.string(),
  displayName: z.string(),
  default: z.boolean(),
  imageSizes: z.array(z.enum(IMAGE_SIZES)),
  aspectRatios: z.array(z.string()),
  maxReferenceImages: z.number().int(),
  searchGrounding: z.boolean(),
  batch: z.boolean(),
  pricing: z.unknown(),
});

/** A secret's rotation state: when the secret the last rotation replaced stops being accepted (null: only the current one is valid). */
export const secretRotationSchema = z.strictObject({ previousSecretExpiresAt: isoDate.nullable() });

export const projectSchema = z.strictObject({
  id: z.uuid(),
  slug: z.string(),
  organizationId: z.uuid(),
  orgSlug: z.string(),
  settings: projectSettingsSchema,
  /** Admin keys only (SPEC §16), as are `liveSigningSecret` and `secrets`. */
  webhookSecret: z.string().optional(),
  liveSigningSecret: z.string().optional(),
  secrets: z
    .strictObject({
      webhook: secretRotationSchema,
      live: secretRotationSchema,
    })
    .optional(),
  createdAt: isoDate,
  updatedAt: isoDate,
  /** GET /project only: the operator's limits (SPEC §12) with the current usage. */
  limits: projectLimitsUsageSchema.optional(),
});

export const webhookAttemptSchema = z.strictObject({
  id: z.uuid(),
  webhookId: z.string(),
  event: z.string(),
  url: z.string(),
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  succeeded: z.boolean(),
  error: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  createdAt: isoDate,
});

export const WEBHOOK_EVENTS = ['generation.succeeded', 'generation.failed', 'generation.cancelled'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
/** Sent to a batch's webhookUrl (else the project's) when its last item ends (SPEC §13). */
export const BATCH_WEBHOOK_EVENTS = ['batch.completed'] as const;
export type BatchWebhookEventType = (typeof BATCH_WEBHOOK_EVENTS)[number];

export const BATCH_STATUSES = ['pending', 'running', 'completed', 'cancelled'] as const;

export const batchSchema = z.strictObject({
  id: z.uuid(),
  status: z.enum(BATCH_STATUSES),
  tier: z.enum(['standard', 'batch']),
  counts: z.strictObject({
    total: z.number().int(),
    pending: z.number().int(),
    processing: z.number().int(),
    success: z.number().int(),
    failed: z.number().int(),
    cancelled: z.number().int(),
  }),
  generationIds: z.array(z.uuid()),
  webhookUrl: z.string().nullable(),
  /** The items' usage summed (issue 12's usage records); null until that is wired. */
  usage: z.unknown(),
  createdAt: isoDate,
  completedAt: isoDate.nullable(),
});

export const batchWebhookEventSchema = z.strictObject({
  type: z.enum(BATCH_WEBHOOK_EVENTS),
  timestamp: isoDate,
  data: batchSchema,
});

/** The JSON body of a webhook delivery (Standard Webhooks headers carry id, timestamp and signature). */
export const webhookEventSchema = z.strictObject({
  type: z.enum(WEBHOOK_EVENTS),
  timestamp: isoDate,
  data: generationSchema,
});

/** `{ id }` answered by the DELETE endpoints. */
export const deletedSchema = z.strictObject({ id: z.uuid() });
export const signedUrlSchema = z.strictObject({ url: z.string() });

export const createdKeySchema = z.strictObject({
  key: z.string(),
  keyId: z.uuid(),
  organizationId: z.uuid(),
  projectId: z.uuid(),
  orgSlug: z.string(),
  projectSlug: z.string(),
  role: z.enum(KEY_ROLES),
});

export const apiKeySchema = z.strictObject({
  id: z.uuid(),
  type: z.enum(['master', 'project']),
  role: z.enum(KEY_ROLES),
  name: z.string().nullable(),
  prefix: z.string(),
  createdAt: isoDate,
  expiresAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
  revokedAt: isoDate.nullable(),
});

export const paginationSchema = z.strictObject({
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  hasMore: z.boolean(),
});

/** `{ success: true, data }` */
export const okEnvelope = <T extends z.ZodType>(data: T) => z.strictObject({ success: z.literal(true), data });
/** `{ success: true, data: [...], pagination }` */
export const pageEnvelope = <T extends z.ZodType>(item: T) =>
  z.strictObject({ success: z.literal(true), data: z.array(item), pagination: paginationSchema });

export const errorBodySchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
  /** Present on 5xx answers. */
  requestId: z.string().optional(),
});
export const errorEnvelopeSchema = z.strictObject({ success: z.literal(false), error: errorBodySchema });

export type Image = z.infer<typeof imageSchema>;
export type ReferenceImage = z.infer<typeof referenceImageSchema>;
export type GenerationError = z.infer<typeof generationErrorSchema>;
export type Generation = z.infer<typeof generationSchema>;
export type GenerationUsage = z.infer<typeof generationUsageSchema>;
export type UsageFigures = z.infer<typeof usageFiguresSchema>;
export type UsageReport = z.infer<typeof usageReportSchema>;
export type ProjectLimits = z.infer<typeof projectLimitsSchema>;
export type ProjectLimitsUsage = z.infer<typeof projectLimitsUsageSchema>;
export type ImageModel = z.infer<typeof modelSchema>;
export type Batch = z.infer<typeof batchSchema>;
export type BatchWebhookEvent = z.infer<typeof batchWebhookEventSchema>;
export type SubmittedGeneration = z.infer<typeof submittedGenerationSchema>;
export type Flow = z.infer<typeof flowSchema>;
export type ResolvedImage = z.infer<typeof resolvedImageSchema>;
export type LiveScope = z.infer<typeof liveScopeSchema>;
export type ProjectSettings = z.infer<typeof projectSettingsSchema>;
export type Project = z.infer<typeof projectSchema>;
export type SecretRotation = z.infer<typeof secretRotationSchema>;
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
export type Deleted = z.infer<typeof deletedSchema>;
export type SignedUrl = z.infer<typeof signedUrlSchema>;
export type CreatedKey = z.infer<typeof createdKeySchema>;
export type ApiKey = z.infer<typeof apiKeySchema>;
export type Pagination = z.infer<typeof paginationSchema>;
export interface Page<T> {
  data: T[];
  pagination: Pagination;
}
export type ErrorBody = z.infer<typeof errorBodySchema>;
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;
