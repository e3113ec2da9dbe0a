import { AppError } from './errors.js';

/** Why a live MISS was refused; `error.details.reason` in the response. */
export type LiveRefusal =
  | 'SCOPE_CLOSED'
  | 'SCOPE_LIMIT_REACHED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'SIGNATURE_REQUIRED'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXPIRED';

/** 403: one of the owner's protections refused to start a new generation. */
export class LiveForbiddenError extends AppError {
  constructor(
    readonly reason: LiveRefusal,
    message: string,
  ) {
    super(403, 'FORBIDDEN', message, { reason });
  }
}

/** 429: this client address started too many live generations this hour. */
export class LiveIpLimitError extends AppError {
  constructor(limit: number, retryAfterSeconds: number) {
    super(
      429,
      'RATE_LIMIT_EXCEEDED',
      `This address may start ${limit} new live images per hour; retry in ${retryAfterSeconds} seconds`,
      { reason: 'IP_LIMIT', limit },
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
}

/** 504: the generation is still running; it keeps going and the same URL will serve it. */
export class LiveTimeoutError extends AppError {
  constructor(generationId: string, retryAfterSeconds: number) {
    super(504, 'TIMEOUT', 'The image is still being generated; retry shortly', { generationId }, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** 502: the generation failed; nothing was cached, the next request tries again. */
export class LiveGenerationFailedError extends AppError {
  constructor(generationId: string, code: string | null, message: string | null) {
    super(502, 'GENERATION_FAILED', `The image could not be generated: ${message ?? 'unknown error'}`, {
      generationId,
      code: code ?? 'INTERNAL_ERROR',
    });
  }
}

/** 404 for HEAD on a URL that was never generated: HEAD never starts a generation. */
export class LiveNotGeneratedError extends AppError {
  constructor() {
    super(404, 'NOT_FOUND', 'Live image not generated yet');
  }
}
