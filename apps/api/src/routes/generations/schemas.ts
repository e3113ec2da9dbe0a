import { ASPECT_RATIOS, MAX_REFERENCE_IMAGES, PROMPT_TEMPLATES } from '@banatie/core';
import { z } from 'zod';

export const MAX_PROMPT_LENGTH = 4000;
const MAX_META_BYTES = 16 * 1024;

/** PostgreSQL text and jsonb cannot hold U+0000: refuse it with a 400 instead of failing the insert. */
export const hasNul = (s: string): boolean => s.includes('\u0000');

export const metaSchema = z
  .record(z.string(), z.unknown(), { error: 'meta must be an object' })
  .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_META_BYTES, { error: 'meta must be at most 16 KB as JSON' })
  .refine((m) => !JSON.stringify(m).replace(/\\\\/g, '').includes('\\u0000'), { error: 'meta must not contain NUL characters' });

export const promptSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'Prompt is required' : 'Prompt must be a string') })
  .trim()
  .min(1, { error: 'Prompt is required' })
  .max(MAX_PROMPT_LENGTH, { error: `Prompt must be at most ${MAX_PROMPT_LENGTH} characters` })
  .refine((p) => !hasNul(p), { error: 'Prompt must not contain NUL characters' });

export const aspectRatioSchema = z.enum(ASPECT_RATIOS, { error: 'Invalid aspect ratio' });

export const webhookUrlSchema = z
  .url({ protocol: /^https?$/, error: 'webhookUrl must be an http(s) URL' })
  .max(2048, { error: 'webhookUrl is too long' });

export const createGenerationBody = z.strictObject({
  prompt: promptSchema,
  aspectRatio: aspectRatioSchema.optional(),
  referenceImages: z
    .array(z.string().min(1).max(100), { error: 'referenceImages must be an array of image ids or aliases' })
    .max(MAX_REFERENCE_IMAGES, { error: `At most ${MAX_REFERENCE_IMAGES} reference images are allowed` })
    .optional(),
  flowId: z.uuid({ error: 'flowId must be a UUID or null' }).nullable().optional(),
  alias: z.string({ error: 'alias must be a string' }).optional(),
  flowAlias: z.string({ error: 'flowAlias must be a string' }).optional(),
  autoEnhance: z.boolean({ error: 'autoEnhance must be a boolean' }).optional(),
  enhancementOptions: z
    .strictObject({ template: z.enum(PROMPT_TEMPLATES, { error: 'Invalid template' }).optional() })
    .optional(),
  meta: metaSchema.optional(),
  webhookUrl: webhookUrlSchema.optional(),
});

export const generationIdParams = z.object({ id: z.string().max(100) });

const boolQuery = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

export const paginationQuery = {
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1, { error: 'limit must be between 1 and 100' }).max(100, { error: 'limit must be between 1 and 100' }).default(20),
  offset: z.coerce.number({ error: 'offset must be a number' }).int().min(0, { error: 'offset must be ≥ 0' }).default(0),
};

export const listGenerationsQuery = z.strictObject({
  flowId: z.uuid({ error: 'flowId must be a UUID' }).optional(),
  status: z.enum(['pending', 'processing', 'success', 'failed', 'cancelled'], { error: 'Invalid status' }).optional(),
  includeDeleted: boolQuery.optional(),
  ...paginationQuery,
});

export const generationHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255, { error: 'Idempotency-Key must be at most 255 characters' }).optional(),
  prefer: z.string().optional(),
});
