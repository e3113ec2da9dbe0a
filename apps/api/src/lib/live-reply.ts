import type { LiveImage } from '@banatie/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches } from './etag.js';

/** Status and headers of a live image answer (SPEC §7): `If-None-Match` → 304 without a body. */
export function liveImageHead(image: LiveImage, ifNoneMatch: string | undefined): { status: 200 | 304; headers: Record<string, string | number> } {
  const headers: Record<string, string | number> = {
    'x-cache-status': image.cache,
    'x-image-id': image.imageId,
    etag: image.etag,
    'cache-control': 'public, max-age=31536000',
    'x-content-type-options': 'nosniff',
    // Public bytes (SPEC §15): the fast path answers HITs without Fastify's hooks.
    'access-control-allow-origin': '*',
  };
  if (image.generationId) headers['x-generation-id'] = image.generationId;
  if (image.hitCount !== null) headers['x-cache-hit-count'] = image.hitCount;
  if (etagMatches(ifNoneMatch, image.etag)) return { status: 304, headers };
  headers['content-type'] = image.mimeType;
  headers['content-length'] = image.body.length;
  return { status: 200, headers };
}

/** Raw bytes with the headers of SPEC §7; `If-None-Match` → 304. */
export function sendLiveImage(request: FastifyRequest, reply: FastifyReply, image: LiveImage): FastifyReply {
  const { status, headers } = liveImageHead(image, request.headers['if-none-match']);
  reply.headers(headers).code(status);
  return status === 304 ? reply.send() : reply.send(image.body);
}

/** Errors of live URLs must never be cached by a browser or CDN. */
export function noStoreOnError(_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  if (reply.statusCode >= 400) reply.header('cache-control', 'no-store');
  done(null, payload);
}
