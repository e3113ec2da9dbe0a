import { MAX_VARIANT_SIDE, ObjectNotFoundError, NotFoundError, VARIANT_FITS, VARIANT_FORMATS, deliveredEtag, isUuid, loadDeliveredImage } from '@banatie/core';
import { imageRepository } from '@banatie/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { etagMatches } from '../../lib/etag.js';

const params = z.object({ org: z.string().max(64), project: z.string().max(64), image: z.string().max(100) });

const side = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int({ error: `${name} must be an integer` })
    .min(1, { error: `${name} must be between 1 and ${MAX_VARIANT_SIDE}` })
    .max(MAX_VARIANT_SIDE, { error: `${name} must be between 1 and ${MAX_VARIANT_SIDE}` });

/** Variant parameters: resized/converted renditions made with sharp and cached in storage. */
const variantQuery = z.strictObject({
  w: side('w').optional(),
  h: side('h').optional(),
  fit: z.enum(VARIANT_FITS, { error: 'fit must be cover, contain or inside' }).optional(),
  format: z.enum(VARIANT_FORMATS, { error: 'format must be webp, jpeg, png or avif' }).optional(),
  q: z.coerce.number({ error: 'q must be a number' }).int().min(1, { error: 'q must be between 1 and 100' }).max(100, { error: 'q must be between 1 and 100' }).optional(),
});

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Aliases move to other images, so they are cached briefly. */
const ALIAS_CACHE = 'public, max-age=60';

/** Public delivery of stored images by id or project alias; no key. */
export async function cdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/cdn/:org/:project/img/:image', { schema: { tags: ['cdn'], summary: 'Public image bytes (optionally a resized/converted variant)', params, querystring: variantQuery, security: [] } }, async (request, reply) => {
    const { org, project, image } = request.params;
    const byId = isUuid(image);
    if (!byId && !image.startsWith('@')) throw new NotFoundError('Image not found');
    const row = await imageRepository.findImageForDelivery(deps.db, org, project, byId ? { id: image.toLowerCase() } : { alias: image });
    if (!row) throw new NotFoundError('Image not found');

    const etag = deliveredEtag(row, request.query);
    reply.headers({
      etag,
      'cache-control': byId ? IMMUTABLE : ALIAS_CACHE,
      'x-image-id': row.id,
      'x-content-type-options': 'nosniff',
    });
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();

    try {
      const body = await loadDeliveredImage(deps.storage, row, request.query);
      return reply.type(body.mimeType).header('content-length', body.data.length).send(body.data);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new NotFoundError('Image not found');
      throw err;
    }
  });
}
