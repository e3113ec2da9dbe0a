import { AppError } from './errors.js';

/** Why a live MISS was refused; `error.details.reason` in the response. */
export type LiveRefusal =
  | 'SCOPE_CLOSED'
  | 'SCOPE_LIMIT_REACHED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'SIGNATURE_REQUIRED'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXPIRED';

/** One of the owner's protections refused to start a new generation. */
export class LiveForbiddenError extends AppError {
  constructor(
    readonly reason: LiveRefusal,
    message: string,
  ) {
    super('forbidden', 'FORBIDDEN', message, { details: { reason } });
  }
}

/** This client address started too many live generations this hour. */
export class LiveIpLimitError extends AppError {
  constructor(limit: number, retryAfterSeconds: number) {
    super('rate_limited', 'RATE_LIMIT_EXCEEDED', `This address may start ${limit} new live images per hour; retry in ${retryAfterSeconds} seconds`, {
      details: { reason: 'IP_LIMIT', limit },
      retryAfterSeconds,
    });
  }
}

/** The generation is still running; it keeps going and the same URL will serve it. */
export class LiveTimeoutError extends AppError {
  constructor(generationId: string, retryAfterSeconds: number) {
    super('timeout', 'TIMEOUT', 'The image is still being generated; retry shortly', { details: { generationId }, retryAfterSeconds });
  }
}

/** The generation failed; nothing was cached, the next request tries again. */
export class LiveGenerationFailedError extends AppError {
  constructor(generationId: string, code: string | null, message: string | null) {
    super('upstream_failed', 'GENERATION_FAILED', `The image could not be generated: ${message ?? 'unknown error'}`, {
      details: { generationId, code: code ?? 'INTERNAL_ERROR' },
    });
  }
}

/** HEAD on a URL that was never generated: HEAD never starts a generation. */
export class LiveNotGeneratedError extends AppError {
  constructor() {
    super('not_found', 'NOT_FOUND', 'Live image not generated yet');
  }
}

/** The project's live policy refuses every public MISS (SPEC §11 `live.enabled`). */
export class LiveDisabledError extends AppError {
  constructor() {
    super('forbidden', 'LIVE_DISABLED', 'Live URLs of this project do not create new images');
  }
}

/** A new scope would pass the project's `live.maxScopes`. */
export class LiveScopeCountError extends AppError {
  constructor() {
    super('forbidden', 'SCOPE_LIMIT_REACHED', 'This project may not create more live scopes');
  }
}

/** The project's daily cap on public live generations is spent (`live.newGenerationsPerDay`). */
export class LiveBudgetExhaustedError extends AppError {
  constructor() {
    super('forbidden', 'LIVE_BUDGET_EXHAUSTED', "This project's live URLs have created all the new images allowed today");
  }
}
