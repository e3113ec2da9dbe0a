import { ObjectNotFoundError, NotFoundError, isUuid } from '@banatie/core';
import { imageRepository } from '@banatie/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { etagMatches } from '../../lib/etag.js';

const params = z.object({ org: z.string().max(64), project: z.string().max(64), image: z.string().max(100) });

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Aliases move to other images, so they are cached briefly. */
const ALIAS_CACHE = 'public, max-age=60';

/** Public delivery of stored images by id or project alias; no key. */
export async function cdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/cdn/:org/:project/img/:image', { schema: { tags: ['cdn'], summary: 'Public image bytes', params, security: [] } }, async (request, reply) => {
    const { org, project, image } = request.params;
    const byId = isUuid(image);
    if (!byId && !image.startsWith('@')) throw new NotFoundError('Image not found');
    const row = await imageRepository.findImageForDelivery(deps.db, org, project, byId ? { id: image.toLowerCase() } : { alias: image });
    if (!row) throw new NotFoundError('Image not found');

    reply.headers({
      etag: row.etag,
      'cache-control': byId ? IMMUTABLE : ALIAS_CACHE,
      'x-image-id': row.id,
      'x-content-type-options': 'nosniff',
    });
    if (etagMatches(request.headers['if-none-match'], row.etag)) return reply.code(304).send();

    try {
      const body = await deps.storage.get(row.storage_key);
      return reply.type(row.mime_type).header('content-length', body.length).send(body);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new NotFoundError('Image not found');
      throw err;
    }
  });
}
