import { AppError } from './errors.js';

/**
 * Errors of live URLs. Their `message` and `details` are for the owner (the keyed
 * `GET /api/v1/live` and the logs); anonymous clients of the public URL see only
 * `error.code` and the fixed `publicMessage` (SPEC §11).
 */

/** Why a live MISS was refused; `error.details.reason` for the owner. */
export type LiveRefusal =
  | 'SCOPE_CLOSED'
  | 'SCOPE_LIMIT_REACHED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'SIGNATURE_REQUIRED'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXPIRED';

const REFUSAL_MESSAGES: Record<LiveRefusal, string> = {
  SCOPE_CLOSED: 'This live scope does not create new images',
  SCOPE_LIMIT_REACHED: 'This live scope has created all the new images allowed',
  ORIGIN_NOT_ALLOWED: 'This page may not create new images in this live scope',
  SIGNATURE_REQUIRED: 'This live scope requires a signed URL',
  SIGNATURE_INVALID: 'Invalid live URL signature',
  SIGNATURE_EXPIRED: 'This signed live URL has expired',
};

/** One of the owner's protections refused to start a new generation. */
export class LiveForbiddenError extends AppError {
  constructor(readonly reason: LiveRefusal) {
    super('forbidden', 'FORBIDDEN', REFUSAL_MESSAGES[reason], { details: { reason }, publicMessage: REFUSAL_MESSAGES[reason] });
  }
}

/** This client address started too many live generations this hour. */
export class LiveIpLimitError extends AppError {
  constructor(limit: number, retryAfterSeconds: number) {
    super('rate_limited', 'RATE_LIMIT_EXCEEDED', `This address may start ${limit} new live images per hour; retry in ${retryAfterSeconds} seconds`, {
      details: { reason: 'IP_LIMIT', limit },
      retryAfterSeconds,
      publicMessage: 'Too many new live images from this address; retry after Retry-After seconds',
    });
  }
}

/** The generation is still running; it keeps going and the same URL will serve it. */
export class LiveTimeoutError extends AppError {
  constructor(generationId: string, retryAfterSeconds: number) {
    const message = 'The image is still being generated; retry shortly';
    super('timeout', 'TIMEOUT', message, { details: { generationId }, retryAfterSeconds, publicMessage: message });
  }
}

/** The generation failed; nothing was cached, the next request tries again. */
export class LiveGenerationFailedError extends AppError {
  constructor(generationId: string, code: string | null, message: string | null) {
    super('upstream_failed', 'GENERATION_FAILED', `The image could not be generated: ${message ?? 'unknown error'}`, {
      details: { generationId, code: code ?? 'INTERNAL_ERROR' },
      publicMessage: 'The image could not be generated; a later request tries again',
    });
  }
}

/** HEAD on a URL that was never generated: HEAD never starts a generation. */
export class LiveNotGeneratedError extends AppError {
  constructor() {
    super('not_found', 'NOT_FOUND', 'Live image not generated yet', { publicMessage: 'Live image not generated yet' });
  }
}

/** The project's live policy refuses every public MISS (SPEC §11 `live.enabled`). */
export class LiveDisabledError extends AppError {
  constructor() {
    const message = 'Live URLs of this project do not create new images';
    super('forbidden', 'LIVE_DISABLED', message, { publicMessage: message });
  }
}

/** A new scope would pass the project's `live.maxScopes`. */
export class LiveScopeCountError extends AppError {
  constructor() {
    const message = 'This project may not create more live scopes';
    super('forbidden', 'SCOPE_LIMIT_REACHED', message, { publicMessage: message });
  }
}

/** The project's daily cap on public live generations is spent (`live.newGenerationsPerDay`). */
export class LiveBudgetExhaustedError extends AppError {
  constructor() {
    const message = "This project's live URLs have created all the new images allowed today";
    super('forbidden', 'LIVE_BUDGET_EXHAUSTED', message, { publicMessage: message });
  }
}
