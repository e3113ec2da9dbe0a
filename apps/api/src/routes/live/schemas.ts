import { LIVE_SCOPE_SLUG, PROMPT_TEMPLATES } from '@banatie/core';
import { z } from 'zod';
import { aspectRatioSchema, metaSchema, paginationQuery, promptSchema } from '../generations/schemas.js';

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
