import { z } from 'zod';
import { metaSchema, paginationQuery } from '../generations/schemas.js';

export const imageIdParams = z.object({ id: z.string().max(100) });
export const aliasParams = z.object({ alias: z.string().max(100) });

export const listImagesQuery = z.strictObject({
  flowId: z.uuid({ error: 'flowId must be a UUID' }).optional(),
  source: z.enum(['generated', 'uploaded'], { error: 'source must be generated or uploaded' }).optional(),
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
