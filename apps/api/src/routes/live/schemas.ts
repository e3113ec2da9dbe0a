import { ASPECT_RATIOS, LIVE_SCOPE_SLUG, PROMPT_TEMPLATES, type PromptTemplate } from '@banatie/core';
import { z } from 'zod';
import { MAX_PROMPT_LENGTH, aspectRatioSchema, hasNul, metaSchema, paginationQuery, promptSchema } from '../generations/schemas.js';

const boolParam = z.enum(['true', 'false', '1', '0'], { error: 'autoEnhance must be true or false' }).transform((v) => v === 'true' || v === '1');
const templateSchema = z.enum(PROMPT_TEMPLATES, { error: 'Invalid template' });
export const scopeSlugSchema = z.string().regex(LIVE_SCOPE_SLUG, { error: 'Scope slug must be 1-64 characters of A-Z a-z 0-9 _ -' });

const liveParamsShape = {
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  autoEnhance: boolParam.optional(),
  template: templateSchema.optional(),
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

/**
 * The public live URL's parameters and query checked by hand: zod costs more than
 * the rest of a HIT. These accept exactly what the zod schemas above accept and
 * return the same values; undefined means "not sure", and the caller falls back to
 * the schema, so every 400 keeps its message.
 */
export function quickLivePublicParams(params: Record<string, unknown>): z.output<typeof livePublicParams> | undefined {
  const { org, project, scope } = params;
  if (typeof org !== 'string' || org.length > 64 || typeof project !== 'string' || project.length > 64) return undefined;
  if (typeof scope !== 'string' || !LIVE_SCOPE_SLUG.test(scope)) return undefined;
  return { org, project, scope };
}

const PUBLIC_QUERY_KEYS = new Set(Object.keys(livePublicQuery.shape));
const BOOL_PARAM: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

export function quickLivePublicQuery(query: Record<string, unknown>): z.output<typeof livePublicQuery> | undefined {
  for (const key in query) if (!PUBLIC_QUERY_KEYS.has(key) || typeof query[key] !== 'string') return undefined;
  const q = query as Record<string, string | undefined>;
  const prompt = q.prompt?.trim();
  if (!prompt || prompt.length > MAX_PROMPT_LENGTH || hasNul(prompt)) return undefined;
  const out: z.output<typeof livePublicQuery> = { prompt };
  if (q.aspectRatio !== undefined) {
    if (!(ASPECT_RATIOS as readonly string[]).includes(q.aspectRatio)) return undefined;
    out.aspectRatio = q.aspectRatio as (typeof ASPECT_RATIOS)[number];
  }
  if (q.autoEnhance !== undefined) {
    if (!Object.hasOwn(BOOL_PARAM, q.autoEnhance)) return undefined;
    out.autoEnhance = BOOL_PARAM[q.autoEnhance];
  }
  if (q.template !== undefined) {
    if (!(PROMPT_TEMPLATES as readonly string[]).includes(q.template)) return undefined;
    out.template = q.template as PromptTemplate;
  }
  if (q.exp !== undefined) {
    if (q.exp.length > 20) return undefined;
    out.exp = q.exp;
  }
  if (q.sig !== undefined) {
    if (q.sig.length > 200) return undefined;
    out.sig = q.sig;
  }
  return out;
}

export const signBody = z.strictObject({
  scope: scopeSlugSchema,
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  autoEnhance: z.boolean({ error: 'autoEnhance must be a boolean' }).optional(),
  template: templateSchema.optional(),
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
export const listScopesQuery = z.strictObject(paginationQuery);
