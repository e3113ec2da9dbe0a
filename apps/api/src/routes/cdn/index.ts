import { cdnImageParams, variantQuery } from '@banatie/contracts';
import { ObjectNotFoundError, NotFoundError, deliveredEtag, isUuid } from '@banatie/core';
import type { ImageRow } from '@banatie/db';
import { imageRepository } from '@banatie/db';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { etagMatches } from '../../lib/etag.js';
import { publicErrorHandler } from '../../plugins/errors.js';
import { imageBytesDoc } from '../../lib/openapi-docs.js';

/** A versionedUrl naming the current version: its bytes never change. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Id URLs (regenerate, focal point and delete change them), aliases (they move) and stale versions: brief, then revalidated by ETag. */
const REVALIDATE = 'public, max-age=60, must-revalidate';

const cacheControl = (byId: boolean, row: ImageRow, v: string | undefined): string =>
  byId && v !== undefined && v === String(row.version) ? IMMUTABLE : REVALIDATE;

/** Public delivery of stored images by id or project alias; no key. */
export async function cdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // This plugin's own context: only the CDN routes answer with public errors.
  app.setErrorHandler(publicErrorHandler);

  r.get('/cdn/:org/:project/img/:image', { schema: { tags: ['cdn'], operationId: 'getCdnImage', documentedResponses: imageBytesDoc, summary: 'Public image bytes (optionally a resized/converted variant)', params: cdnImageParams, querystring: variantQuery, security: [] } }, async (request, reply) => {
    const { org, project, image } = request.params;
    const byId = isUuid(image);
    if (!byId && !image.startsWith('@')) throw new NotFoundError('Image not found');
    const row = await imageRepository.findImageForDelivery(deps.db, org, project, byId ? { id: image.toLowerCase() } : { alias: image });
    if (!row) throw new NotFoundError('Image not found');

    const etag = deliveredEtag(row, request.query);
    reply.headers({
      etag,
      'cache-control': cacheControl(byId, row, request.query.v),
      'x-image-id': row.id,
      'x-content-type-options': 'nosniff',
    });
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();

    try {
      const body = await deps.cdn.load(row, request.query, { ip: request.ip });
      return reply.type(body.mimeType).header('content-length', body.data.length).send(body.data);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) throw new NotFoundError('Image not found');
      throw err;
    }
  });
}
