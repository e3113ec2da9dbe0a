import { AppError, ServiceUnavailableError, type ErrorKind } from '@banatie/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailableError } from '../lib/unavailable.js';

export interface Envelope {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  /** Sent as Retry-After. */
  retryAfterSeconds?: number;
}

/** The HTTP status of each kind of domain error. */
export const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  upstream_failed: 502,
  unavailable: 503,
  timeout: 504,
};

/** A domain error as the envelope of SPEC §3. */
export function appErrorEnvelope(err: AppError): Envelope {
  return { status: HTTP_STATUS[err.kind], code: err.code, message: err.message, details: err.details, retryAfterSeconds: err.retryAfterSeconds };
}

const FASTIFY_CODES: Record<string, Omit<Envelope, 'details' | 'retryAfterSeconds'>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is empty' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported Content-Type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'VALIDATION_ERROR', message: 'Invalid Content-Length' },
};

export function toEnvelope(err: FastifyError & { validation?: Array<{ message?: string; instancePath?: string }> }): Envelope {
  if (err instanceof AppError) return appErrorEnvelope(err);
  if (err.validation) {
    const issues = err.validation.map((v) => ({ path: (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.'), message: v.message ?? 'Invalid value' }));
    return { status: 400, code: 'VALIDATION_ERROR', message: issues[0]?.message ?? 'Invalid request', details: issues };
  }
  const known = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (known) return { ...known };
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is not valid JSON' };
  }
  if (isUnavailableError(err)) return appErrorEnvelope(new ServiceUnavailableError());
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, code: 'VALIDATION_ERROR', message: err.message };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

/** `withRequestId`: every status carries the request id (public surfaces, SPEC §11); by default only 5xx do. */
export function sendError(reply: FastifyReply, request: FastifyRequest, e: Envelope, opts: { withRequestId?: boolean } = {}): FastifyReply {
  if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  if (e.status >= 500 || opts.withRequestId) error.requestId = request.id;
  return reply.code(e.status).type('application/json; charset=utf-8').send({ success: false, error });
}

const GENERIC_PUBLIC_MESSAGES: Record<number, string> = {
  400: 'Invalid request',
  403: 'Forbidden',
  404: 'Not found',
  429: 'Too many requests; retry after Retry-After seconds',
  502: 'The image could not be made',
  503: 'Service temporarily unavailable; retry after Retry-After seconds',
  504: 'Timed out; retry shortly',
};

/**
 * What an anonymous client sees (SPEC §11): the public code, a fixed message and
 * (in sendError) the request id; never details, provider text or ids. A request
 * validation message is kept: it names what was wrong with the URL itself.
 */
function publicEnvelope(err: FastifyError & { validation?: unknown }, full: Envelope): Envelope {
  let message = GENERIC_PUBLIC_MESSAGES[full.status] ?? 'Request failed';
  if (err instanceof AppError && err.publicMessage) message = err.publicMessage;
  else if (full.code === 'VALIDATION_ERROR' && full.status === 400) message = full.message;
  return { status: full.status, code: full.code, message, retryAfterSeconds: full.retryAfterSeconds };
}

/**
 * Error handler of a key-less public route (live, CDN): the public body, never
 * cached (`no-store`), without the success headers (ETag, image id) the route may
 * have set before it failed; the log keeps everything.
 */
export function publicErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const envelope = toEnvelope(err);
  logRejection(request, err, envelope);
  reply.removeHeader('etag').removeHeader('x-image-id').header('cache-control', 'no-store');
  return sendError(reply, request, publicEnvelope(err, envelope), { withRequestId: true });
}

function logRejection(request: FastifyRequest, err: FastifyError, envelope: Envelope): void {
  if (envelope.status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ code: envelope.code, msg: envelope.message, details: envelope.details }, 'request rejected');
}

/** The one place where errors become HTTP responses. */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const envelope = toEnvelope(err);
    logRejection(request, err, envelope);
    return sendError(reply, request, envelope);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, { status: 404, code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` }),
  );
});
