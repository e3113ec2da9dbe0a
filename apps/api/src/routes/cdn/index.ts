import { cdnImageParams, variantQuery } from '@banatie/contracts';
import { ObjectNotFoundError, NotFoundError, deliveredEtag, isUuid, loadDeliveredImage } from '@banatie/core';
import { imageRepository } from '@banatie/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { etagMatches } from '../../lib/etag.js';
import { imageBytesDoc } from '../../lib/openapi-docs.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Aliases move to other images, so they are cached briefly. */
const ALIAS_CACHE = 'public, max-age=60';

/** Public delivery of stored images by id or project alias; no key. */
export async function cdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/cdn/:org/:project/img/:image', { schema: { tags: ['cdn'], operationId: 'getCdnImage', documentedResponses: imageBytesDoc, summary: 'Public image bytes (optionally a resized/converted variant)', params: cdnImageParams, querystring: variantQuery, security: [] } }, async (request, reply) => {
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
