import type { ProviderUsage } from './ports.js';
/**
 * What went wrong, in terms of the request and independent of any transport.
 * The API maps each kind to an HTTP status in its one error handler
 * (apps/api/src/plugins/errors.ts); the CLI and the worker read `code` and the message.
 */
export type ErrorKind =
  /** The request is malformed or breaks a rule (400). */
  | 'invalid'
  /** No valid credentials (401). */
  | 'unauthenticated'
  /** Valid credentials, not allowed (403). */
  | 'forbidden'
  /** Nothing there, or not the caller's (404). */
  | 'not_found'
  /** Clashes with the current state (409). */
  | 'conflict'
  /** The body or file is bigger than allowed (413). */
  | 'too_large'
  /** A content type the operation does not take (415). */
  | 'unsupported_media_type'
  /** Well-formed, but cannot be processed as sent (422). */
  | 'unprocessable'
  /** Too many requests; `retryAfterSeconds` says when to try again (429). */
  | 'rate_limited'
  /** The work this request waited for failed downstream (502). */
  | 'upstream_failed'
  /** A backing service is down; retry later (503). */
  | 'unavailable'
  /** Still running when the wait ended; retry later (504). */
  | 'timeout';

export interface AppErrorOptions {
  /** Machine-readable extras, sent to clients as `error.details`. */
  details?: unknown;
  /** When the client may try again (the API sends it as Retry-After). */
  retryAfterSeconds?: number;
  /**
   * The message an anonymous client may see (public live and CDN URLs, SPEC §11):
   * a fixed text, never provider text or ids. Absent: a generic one for the status.
   */
  publicMessage?: string;
}

/** Typed errors with a transport-neutral kind and a stable code (clients see code and message). */
export class AppError extends Error {
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;
  readonly publicMessage?: string;

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message);
    this.name = new.target.name;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.publicMessage = options.publicMessage;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('invalid', 'VALIDATION_ERROR', message, { details });
  }
}

export class UnauthorizedError extends AppError {
  constructor() {
    super('unauthenticated', 'UNAUTHORIZED', 'Invalid or missing API key');
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', 'FORBIDDEN', message);
  }
}

/** `message` is a fixed text such as `Scope not found` (SPEC §3), so anonymous clients see it too. */
export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', 'NOT_FOUND', message, { publicMessage: message });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT') {
    super('conflict', code, message);
  }
}

export class IdempotencyMismatchError extends AppError {
  constructor() {
    super('unprocessable', 'IDEMPOTENCY_MISMATCH', 'Idempotency-Key was already used with a different request body');
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super('unsupported_media_type', 'UNSUPPORTED_MEDIA_TYPE', message);
  }
}

export class RateLimitError extends AppError {
  constructor(retryAfterSeconds: number, details?: unknown) {
    super('rate_limited', 'RATE_LIMIT_EXCEEDED', `Rate limit exceeded, retry in ${retryAfterSeconds} seconds`, { retryAfterSeconds, details });
  }
}

/** Too many failed authentications from this client address (SPEC §11): every request is refused until the minute ends. */
export class AuthThrottledError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'RATE_LIMIT_EXCEEDED', `Too many failed authentications from this address; retry in ${retryAfterSeconds} seconds`, {
      retryAfterSeconds,
      details: { reason: 'AUTH_FAILURES' },
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable', retryAfterSeconds = 5, details?: unknown) {
    super('unavailable', 'SERVICE_UNAVAILABLE', message, { retryAfterSeconds, details });
  }
}

/** A new CDN variant of an image that already has CDN_VARIANTS_PER_IMAGE of them (SPEC §11). */
export class VariantLimitError extends AppError {
  constructor() {
    const message = 'This image has reached its limit of stored variants; use one of its existing sizes';
    super('invalid', 'VARIANT_LIMIT', message, { publicMessage: message });
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
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL_ERROR'
  /** The provider's batch job failed, expired (not done within its window) or was cancelled (batch tier). */
  | 'BATCH_FAILED'
  | 'BATCH_EXPIRED'
  | 'BATCH_CANCELLED';

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
    /** `usage`: a call that was answered (and billed) but failed, e.g. a blocked image. */
    readonly options: { rateLimited?: boolean; retryAfterMs?: number; cause?: unknown; usage?: ProviderUsage } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
  }
}
