/** Typed errors with a stable code and HTTP status; mapped in one place by the API. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'VALIDATION_ERROR', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor() {
    super(401, 'UNAUTHORIZED', 'Invalid or missing API key');
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super(403, 'FORBIDDEN', message);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, 'NOT_FOUND', message);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT') {
    super(409, code, message);
  }
}

export class IdempotencyMismatchError extends AppError {
  constructor() {
    super(422, 'IDEMPOTENCY_MISMATCH', 'Idempotency-Key was already used with a different request body');
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', message);
  }
}

export class RateLimitError extends AppError {
  constructor(retryAfterSeconds: number) {
    super(429, 'RATE_LIMIT_EXCEEDED', `Rate limit exceeded, retry in ${retryAfterSeconds} seconds`, undefined, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable', retryAfterSeconds = 5) {
    super(503, 'SERVICE_UNAVAILABLE', message, undefined, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** Error codes a generation can end with (error.code on the generation object). */
export type GenerationErrorCode =
  | 'CONTENT_BLOCKED'
  | 'PROVIDER_REJECTED'
  | 'NO_IMAGE'
  | 'PROVIDER_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'TIMEOUT'
  | 'REFERENCE_NOT_FOUND'
  | 'STORAGE_ERROR'
  | 'INTERNAL_ERROR';

/**
 * A failure of the image provider. `retryable` decides between BullMQ backoff and
 * failing at once; `rateLimited` (Gemini 429) slows the whole queue without
 * spending an attempt.
 */
export class ProviderError extends Error {
  constructor(
    readonly code: GenerationErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly options: { rateLimited?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
  }
}
