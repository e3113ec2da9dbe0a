import { z } from 'zod';
import { parseCancelAfter } from './cancel-after.js';
import {
  ASPECT_RATIOS,
  GENERATION_STATUSES,
  IMAGE_SOURCES,
  KEY_ROLES,
  LIVE_SCOPE_SLUG,
  MAX_FLOW_ALIASES_PER_REQUEST,
  MAX_LIST_OFFSET,
  MAX_META_BYTES,
  MAX_PROMPT_LENGTH,
  MAX_SECRET_GRACE_SECONDS,
  MAX_VARIANT_SIDE,
  PROJECT_SECRETS,
  PROMPT_TEMPLATES,
  SLUG_PATTERN,
  VARIANT_FITS,
  VARIANT_FORMATS,
} from './constants.js';
import { IMAGE_SIZES, MAX_REFERENCE_IMAGES_ANY_MODEL } from './models.js';

/** Request schemas: the server validates with these, the SDK takes its input types from them. */

/** PostgreSQL text and jsonb cannot hold U+0000: refuse it with a 400 instead of failing the insert. */
export const hasNul = (s: string): boolean => s.includes('\u0000');

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

export const metaSchema = z
  .record(z.string(), z.unknown(), { error: 'meta must be an object' })
  .refine((m) => utf8Length(JSON.stringify(m)) <= MAX_META_BYTES, { error: 'meta must be at most 16 KB as JSON' })
  .refine((m) => !JSON.stringify(m).replace(/\\\\/g, '').includes('\\u0000'), { error: 'meta must not contain NUL characters' });

export const promptSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'Prompt is required' : 'Prompt must be a string') })
  .trim()
  .min(1, { error: 'Prompt is required' })
  .max(MAX_PROMPT_LENGTH, { error: `Prompt must be at most ${MAX_PROMPT_LENGTH} characters` })
  .refine((p) => !hasNul(p), { error: 'Prompt must not contain NUL characters' });

export const aspectRatioSchema = z.enum(ASPECT_RATIOS, { error: 'Invalid aspect ratio' });
export const templateSchema = z.enum(PROMPT_TEMPLATES, { error: 'Invalid template' });

export const modelIdSchema = z.string({ error: 'model must be a string' }).min(1, { error: 'model must not be empty' }).max(100, { error: 'model is too long' });
export const imageSizeSchema = z.enum(IMAGE_SIZES, { error: `imageSize must be one of ${IMAGE_SIZES.join(', ')}` });
const groundWithSearchSchema = z.boolean({ error: 'groundWithSearch must be a boolean' });

export const webhookUrlSchema = z
  .url({ protocol: /^https?$/, error: 'webhookUrl must be an http(s) URL' })
  .max(2048, { error: 'webhookUrl is too long' });

const idParam = z.string().max(100);
export const idParams = z.object({ id: idParam });

const boolQuery = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

export const paginationQuery = {
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, { error: 'limit must be between 1 and 100' }).max(100, { error: 'limit must be between 1 and 100' }).default(20),
  offset: z.coerce
    .number({ error: 'offset must be a number' })
    .int()
    .min(0, { error: 'offset must be ≥ 0' })
    .max(MAX_LIST_OFFSET, { error: `offset must be ≤ ${MAX_LIST_OFFSET}` })
    .default(0),
};
export const pageQuery = z.strictObject(paginationQuery);

// ---- generations (SPEC §4)

export const createGenerationBody = z.strictObject({
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  referenceImages: z
    .array(z.string().min(1).max(100), { error: 'referenceImages must be an array of image ids or aliases' })
    .max(MAX_REFERENCE_IMAGES_ANY_MODEL, { error: `At most ${MAX_REFERENCE_IMAGES_ANY_MODEL} reference images are allowed` })
    .optional(),
  flowId: z.uuid({ error: 'flowId must be a UUID or null' }).nullable().optional(),
  alias: z.string({ error: 'alias must be a string' }).optional(),
  flowAlias: z.string({ error: 'flowAlias must be a string' }).optional(),
  autoEnhance: z.boolean({ error: 'autoEnhance must be a boolean' }).optional(),
  enhancementOptions: z.strictObject({ template: templateSchema.optional() }).optional(),
  meta: metaSchema.optional(),
  webhookUrl: webhookUrlSchema.optional(),
  model: modelIdSchema.optional(),
  imageSize: imageSizeSchema.optional(),
  groundWithSearch: groundWithSearchSchema.optional(),
});

export const updateGenerationBody = z.strictObject({
  prompt: promptSchema.optional(),
  aspectRatio: aspectRatioSchema.optional(),
  flowId: z.uuid({ error: 'flowId must be a UUID or null' }).nullable().optional(),
  meta: metaSchema.optional(),
  model: modelIdSchema.optional(),
  imageSize: imageSizeSchema.optional(),
  groundWithSearch: groundWithSearchSchema.optional(),
});

export const generationIdParams = idParams;

// ---- batches (SPEC §13)

export const BATCH_TIERS = ['standard', 'batch'] as const;
export const MAX_BATCH_ITEMS = 500;

/** Items are checked one by one against createGenerationBody by the server, so a bad one is named by its index. */
export const createBatchBody = z.strictObject({
  items: z
    .array(z.unknown(), { error: 'items must be an array of generation requests' })
    .min(1, { error: `items must hold 1 to ${MAX_BATCH_ITEMS} generation requests` })
    .max(MAX_BATCH_ITEMS, { error: `items must hold 1 to ${MAX_BATCH_ITEMS} generation requests` }),
  tier: z.enum(BATCH_TIERS, { error: 'tier must be "standard" or "batch"' }).optional(),
  webhookUrl: webhookUrlSchema.optional(),
});
export const batchIdParams = idParams;

export const listGenerationsQuery = z.strictObject({
  flowId: z.uuid({ error: 'flowId must be a UUID' }).optional(),
  status: z.enum(GENERATION_STATUSES, { error: 'Invalid status' }).optional(),
  includeDeleted: boolQuery.optional(),
  ...paginationQuery,
});

export const generationHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255, { error: 'Idempotency-Key must be at most 255 characters' }).optional(),
  prefer: z.string().optional(),
});

/** Submit: also `Cancel-After` (SPEC §12), a deadline sooner than GENERATION_DEADLINE_MS. */
export const submitGenerationHeaders = generationHeaders.extend({
  'cancel-after': z
    .string()
    .refine((v) => parseCancelAfter(v) !== undefined, { error: 'Invalid Cancel-After header: use a duration such as 30s or 5m, or a number of seconds' })
    .optional(),
});

// ---- images (SPEC §6)

export const imageIdParams = idParams;
export const aliasParams = z.object({ alias: z.string().max(100) });

export const listImagesQuery = z.strictObject({
  flowId: z.uuid({ error: 'flowId must be a UUID' }).optional(),
  source: z.enum(IMAGE_SOURCES, { error: 'source must be generated or uploaded' }).optional(),
  alias: z.string().max(100).optional(),
  ...paginationQuery,
});

export const resolveQuery = z.strictObject({ flowId: z.string().max(100).optional() });

const aliasValue = z.string({ error: 'alias must be a string or null' }).max(100).nullable();

const focalPoint = z.strictObject({
  x: z.number({ error: 'focalPoint.x must be a number' }).min(0, { error: 'focalPoint.x must be between 0 and 1' }).max(1, { error: 'focalPoint.x must be between 0 and 1' }),
  y: z.number({ error: 'focalPoint.y must be a number' }).min(0, { error: 'focalPoint.y must be between 0 and 1' }).max(1, { error: 'focalPoint.y must be between 0 and 1' }),
});

export const updateImageBody = z.strictObject({
  focalPoint: focalPoint.nullable().optional(),
  meta: metaSchema.optional(),
  alias: aliasValue.optional(),
});

export const setAliasBody = z.strictObject({ alias: aliasValue });

// ---- flows (SPEC §5)

export const flowIdParams = idParams;
export const flowAliasParams = z.object({ id: idParam, alias: z.string().max(100) });
export const setFlowAliasesBody = z.strictObject({
  aliases: z
    .record(z.string().max(100), z.string({ error: 'alias values must be image ids' }).max(100), { error: 'aliases must be an object of "@name": "<imageId>"' })
    .refine((aliases) => Object.keys(aliases).length <= MAX_FLOW_ALIASES_PER_REQUEST, {
      error: `At most ${MAX_FLOW_ALIASES_PER_REQUEST} aliases per request`,
    }),
});

// ---- live URLs and scopes (SPEC §7)

const boolParam = z.enum(['true', 'false', '1', '0'], { error: 'autoEnhance must be true or false' }).transform((v) => v === 'true' || v === '1');
export const scopeSlugSchema = z.string().regex(LIVE_SCOPE_SLUG, { error: 'Scope slug must be 1-64 characters of A-Z a-z 0-9 _ -' });

const liveParamsShape = {
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  autoEnhance: boolParam.optional(),
  template: templateSchema.optional(),
  model: modelIdSchema.optional(),
  imageSize: imageSizeSchema.optional(),
};

/** `GET /api/v1/live` (keyed seed endpoint). */
export const liveSeedQuery = z.strictObject(liveParamsShape);

/** Public live URL: the generation parameters plus the optional signature. */
export const livePublicQuery = z.strictObject({
  ...liveParamsShape,
  exp: z.string().max(20).optional(),
  sig: z.string().max(200).optional(),
});

export const livePublicParams = z.object({
  org: z.string().max(64),
  project: z.string().max(64),
  scope: scopeSlugSchema,
});

export const signLiveBody = z.strictObject({
  scope: scopeSlugSchema,
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  autoEnhance: z.boolean({ error: 'autoEnhance must be a boolean' }).optional(),
  template: templateSchema.optional(),
  model: modelIdSchema.optional(),
  imageSize: imageSizeSchema.optional(),
  expiresAt: z.number({ error: 'expiresAt must be unix seconds' }).int({ error: 'expiresAt must be unix seconds' }).positive({ error: 'expiresAt must be unix seconds' }).optional(),
});

const scopeSettingsShape = {
  allowNewGenerations: z.boolean({ error: 'allowNewGenerations must be a boolean' }).optional(),
  newGenerationsLimit: z
    .number({ error: 'newGenerationsLimit must be a number' })
    .int({ error: 'newGenerationsLimit must be an integer' })
    .min(0, { error: 'newGenerationsLimit must be between 0 and 1000000' })
    .max(1_000_000, { error: 'newGenerationsLimit must be between 0 and 1000000' })
    .optional(),
  allowedOrigins: z
    .array(z.string({ error: 'allowedOrigins must be strings' }).max(300), { error: 'allowedOrigins must be an array of origins' })
    .max(50, { error: 'At most 50 allowed origins' })
    .optional(),
  requireSignature: z.boolean({ error: 'requireSignature must be a boolean' }).optional(),
  meta: metaSchema.optional(),
};

export const createScopeBody = z.strictObject({ slug: scopeSlugSchema, ...scopeSettingsShape });
export const updateScopeBody = z.strictObject(scopeSettingsShape);
export const scopeParams = z.object({ slug: z.string().max(200) });
export const listScopesQuery = pageQuery;

// ---- project (SPEC §3)

const countSchema = (name: string, max: number) =>
  z
    .number({ error: `${name} must be a number` })
    .int({ error: `${name} must be an integer` })
    .min(0, { error: `${name} must be between 0 and ${max}` })
    .max(max, { error: `${name} must be between 0 and ${max}` });

/** `live` of `PUT /api/v1/project` (SPEC §11): the given fields replace the stored ones; `null` for the whole object restores the defaults. */
export const livePolicyPatch = z.strictObject(
  {
    enabled: z.boolean({ error: 'live.enabled must be a boolean' }).optional(),
    autoCreateScopes: z.boolean({ error: 'live.autoCreateScopes must be a boolean' }).optional(),
    scopeDefaults: z
      .strictObject(
        {
          allowNewGenerations: scopeSettingsShape.allowNewGenerations,
          newGenerationsLimit: scopeSettingsShape.newGenerationsLimit,
          allowedOrigins: scopeSettingsShape.allowedOrigins,
          requireSignature: scopeSettingsShape.requireSignature,
        },
        { error: 'live.scopeDefaults must be an object' },
      )
      .optional(),
    maxScopes: countSchema('live.maxScopes', 100_000).optional(),
    /** null: no daily cap. */
    newGenerationsPerDay: countSchema('live.newGenerationsPerDay', 1_000_000).nullable().optional(),
  },
  { error: 'live must be an object' },
);

export const updateProjectBody = z.strictObject({
  stylePrompt: z
    .string({ error: 'stylePrompt must be a string' })
    .max(2000, { error: 'stylePrompt must be at most 2000 characters' })
    .refine((v) => !hasNul(v), { error: 'stylePrompt must not contain NUL characters' })
    .nullable()
    .optional(),
  defaultAspectRatio: aspectRatioSchema.nullable().optional(),
  webhookUrl: webhookUrlSchema.nullable().optional(),
  autoEnhanceDefault: z.boolean({ error: 'autoEnhanceDefault must be a boolean' }).nullable().optional(),
  live: livePolicyPatch.nullable().optional(),
  defaultModel: modelIdSchema.nullable().optional(),
  defaultImageSize: imageSizeSchema.nullable().optional(),
});

export const rotateSecretBody = z.strictObject({
  secret: z.enum(PROJECT_SECRETS, { error: 'secret must be "webhook" or "live"' }),
  graceSeconds: z
    .number({ error: 'graceSeconds must be a number' })
    .int({ error: 'graceSeconds must be an integer' })
    .min(0, { error: `graceSeconds must be from 0 to ${MAX_SECRET_GRACE_SECONDS}` })
    .max(MAX_SECRET_GRACE_SECONDS, { error: `graceSeconds must be from 0 to ${MAX_SECRET_GRACE_SECONDS}` })
    .optional(),
});

// ---- admin (master key)

const slug = z.string({ error: 'slug is required' }).regex(SLUG_PATTERN, { error: 'Invalid slug' });

export const createKeyBody = z.strictObject({
  orgSlug: slug,
  projectSlug: slug,
  name: z.string().max(200).optional(),
  expiresInDays: z.number({ error: 'expiresInDays must be a number' }).positive({ error: 'expiresInDays must be positive' }).max(36500).optional(),
  role: z.enum(KEY_ROLES, { error: 'role must be "admin" or "standard"' }).optional(),
});
export const listKeysQuery = z.strictObject({ orgSlug: slug, projectSlug: slug });

// ---- usage and limits (SPEC §12)

export const USAGE_GROUPS = ['day', 'model', 'source'] as const;
export const ADMIN_USAGE_GROUPS = ['project', ...USAGE_GROUPS] as const;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** `from`/`to`: an ISO date (`2026-12-01`, a whole UTC day) or an ISO date-time with its zone. */
const usageBound = (name: string) =>
  z
    .string({ error: `${name} must be an ISO date` })
    .refine((v) => (ISO_DATE.test(v) || ISO_DATE_TIME.test(v)) && !Number.isNaN(Date.parse(ISO_DATE.test(v) ? `${v}T00:00:00Z` : v)) && sameCalendarDate(v), {
      error: `${name} must be an ISO date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ)`,
    });

/** Date.parse rolls 2026-02-30 over to March: refuse dates that do not exist. */
function sameCalendarDate(v: string): boolean {
  const day = v.slice(0, 10);
  return new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) === day;
}

export const usageQuery = z.strictObject({
  from: usageBound('from').optional(),
  to: usageBound('to').optional(),
  groupBy: z.enum(USAGE_GROUPS, { error: 'groupBy must be day, model or source' }).optional(),
});

export const adminUsageQuery = z.strictObject({
  from: usageBound('from').optional(),
  to: usageBound('to').optional(),
  groupBy: z.enum(ADMIN_USAGE_GROUPS, { error: 'groupBy must be project, day, model or source' }).default('project'),
});

export const projectSlugParams = z.object({ orgSlug: slug, projectSlug: slug });

const limitValue = (name: string, schema: z.ZodNumber) => schema.nullable().optional().describe(`${name}; null = unlimited`);

/** PUT limits: fields left out keep their value; null removes the limit. */
export const projectLimitsBody = z.strictObject({
  generationsPerDay: limitValue(
    'generationsPerDay',
    z.number({ error: 'generationsPerDay must be a number or null' }).int({ error: 'generationsPerDay must be an integer' }).min(0, { error: 'generationsPerDay must be ≥ 0' }).max(100_000_000),
  ),
  monthlyCostUsd: limitValue(
    'monthlyCostUsd',
    z.number({ error: 'monthlyCostUsd must be a number or null' }).min(0, { error: 'monthlyCostUsd must be ≥ 0' }).max(1_000_000_000),
  ),
  maxConcurrency: limitValue(
    'maxConcurrency',
    z.number({ error: 'maxConcurrency must be a number or null' }).int({ error: 'maxConcurrency must be an integer' }).min(1, { error: 'maxConcurrency must be ≥ 1' }).max(100_000),
  ),
});

// ---- public image delivery

export const cdnImageParams = z.object({ org: z.string().max(64), project: z.string().max(64), image: z.string().max(100) });

const variantSide = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int({ error: `${name} must be an integer` })
    .min(1, { error: `${name} must be between 1 and ${MAX_VARIANT_SIDE}` })
    .max(MAX_VARIANT_SIDE, { error: `${name} must be between 1 and ${MAX_VARIANT_SIDE}` });

/** Variant parameters: resized/converted renditions. */
export const variantQuery = z.strictObject({
  w: variantSide('w').optional(),
  h: variantSide('h').optional(),
  fit: z.enum(VARIANT_FITS, { error: 'fit must be cover, contain or inside' }).optional(),
  format: z.enum(VARIANT_FORMATS, { error: 'format must be webp, jpeg, png or avif' }).optional(),
  q: z.coerce.number({ error: 'q must be a number' }).int().min(1, { error: 'q must be between 1 and 100' }).max(100, { error: 'q must be between 1 and 100' }).optional(),
  /** The image version a `versionedUrl` pins; only the cache headers depend on it. */
  v: z.string().max(20, { error: 'v is too long' }).optional(),
});

// ---- inferred types (input = what a client may send; the server sees the parsed output)

export type CreateGenerationInput = z.input<typeof createGenerationBody>;
export type UpdateGenerationInput = z.input<typeof updateGenerationBody>;
/** A batch: every item is a generation request. */
export type CreateBatchInput = Omit<z.input<typeof createBatchBody>, 'items'> & { items: CreateGenerationInput[] };
/** Query strings: typed as the values they stand for (numbers, booleans); all optional. */
export type ListGenerationsQuery = Partial<z.output<typeof listGenerationsQuery>>;
export type ListImagesQuery = Partial<z.output<typeof listImagesQuery>>;
export type UpdateImageInput = z.input<typeof updateImageBody>;
export type PageQuery = Partial<z.output<typeof pageQuery>>;
export type SignLiveInput = z.input<typeof signLiveBody>;
export type CreateScopeInput = z.input<typeof createScopeBody>;
export type UpdateScopeInput = z.input<typeof updateScopeBody>;
export type UpdateProjectInput = z.input<typeof updateProjectBody>;
export type RotateSecretInput = z.input<typeof rotateSecretBody>;
export type CreateKeyInput = z.input<typeof createKeyBody>;
export type VariantQuery = Partial<z.output<typeof variantQuery>>;
export type UsageQuery = z.input<typeof usageQuery>;
export type AdminUsageQuery = z.input<typeof adminUsageQuery>;
export type ProjectLimitsInput = z.input<typeof projectLimitsBody>;
