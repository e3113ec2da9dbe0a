import { AppError, ServiceUnavailableError } from '@banatie/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailableError } from '../lib/unavailable.js';

interface Envelope {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
}

const FASTIFY_CODES: Record<string, Omit<Envelope, 'details' | 'headers'>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is empty' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported Content-Type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'VALIDATION_ERROR', message: 'Invalid Content-Length' },
};

function toEnvelope(err: FastifyError & { validation?: Array<{ message?: string; instancePath?: string }> }): Envelope {
  if (err instanceof AppError) {
    return { status: err.statusCode, code: err.code, message: err.message, details: err.details, headers: err.headers };
  }
  if (err.validation) {
    const issues = err.validation.map((v) => ({ path: (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.'), message: v.message ?? 'Invalid value' }));
    return { status: 400, code: 'VALIDATION_ERROR', message: issues[0]?.message ?? 'Invalid request', details: issues };
  }
  const known = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (known) return { ...known };
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return { status: 400, code: 'VALIDATION_ERROR', message: 'Request body is not valid JSON' };
  }
  if (isUnavailableError(err)) {
    const e = new ServiceUnavailableError();
    return { status: 503, code: e.code, message: e.message, headers: e.headers };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, code: 'VALIDATION_ERROR', message: err.message };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

export function sendError(reply: FastifyReply, request: FastifyRequest, e: Envelope): FastifyReply {
  if (e.headers) reply.headers(e.headers);
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  if (e.status >= 500) error.requestId = request.id;
  return reply.code(e.status).type('application/json; charset=utf-8').send({ success: false, error });
}

/** The one place where errors become HTTP responses. */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const envelope = toEnvelope(err);
    if (envelope.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: envelope.code, msg: envelope.message }, 'request rejected');
    return sendError(reply, request, envelope);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, { status: 404, code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0]} not found` }),
  );
});
