import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { sendError, toEnvelope, type Envelope } from '../plugins/errors.js';

/**
 * Codes an anonymous client may see, with the one message each gets (SPEC §11):
 * nothing from inside the service (provider text, ids, internal codes) reaches
 * a public error body. Validation messages only restate the URL's own rules, so
 * they are kept.
 */
const PUBLIC_MESSAGES: Record<string, string | null> = {
  VALIDATION_ERROR: null,
  NOT_FOUND: 'Image not found',
  FORBIDDEN: 'Forbidden',
  VARIANT_LIMIT: 'This image has reached its limit of stored variants; use one of its existing sizes',
  RATE_LIMIT_EXCEEDED: 'Too many requests; retry later',
  SERVICE_UNAVAILABLE: 'Service temporarily unavailable; retry later',
};

/** What an anonymous client is told: a public code, a generic message, the request id (to quote to the operator). */
export function publicEnvelope(e: Envelope): Envelope {
  if (e.status >= 500 && e.code !== 'SERVICE_UNAVAILABLE') return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
  const known = e.code in PUBLIC_MESSAGES;
  const message = known ? (PUBLIC_MESSAGES[e.code] ?? e.message) : 'Request refused';
  return { status: e.status, code: known ? e.code : 'REQUEST_REFUSED', message, retryAfterSeconds: e.retryAfterSeconds };
}

/**
 * Error handler of public delivery routes: the public envelope with the request
 * id, never cached (`no-store`), and without the success headers (ETag, image
 * id) the route may have set before it failed.
 */
export function publicErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const envelope = toEnvelope(err);
  if (envelope.status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ code: envelope.code, msg: envelope.message }, 'request rejected');
  reply.removeHeader('etag').removeHeader('x-image-id').header('cache-control', 'no-store');
  return sendError(reply, request, publicEnvelope(envelope), { withRequestId: true });
}
