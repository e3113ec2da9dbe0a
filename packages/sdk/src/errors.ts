/** Codes the API answers with, plus the client-side ones (NETWORK_ERROR, HTTP_ERROR, WAIT_TIMEOUT, WEBHOOK_INVALID). */
export type BanatieErrorCode =
  | 'VALIDATION_ERROR'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'ALIAS_CONFLICT'
  | 'IDEMPOTENCY_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'FILE_TOO_LARGE'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMIT_EXCEEDED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR'
  | 'TIMEOUT'
  | 'GENERATION_FAILED'
  | 'NETWORK_ERROR'
  | 'HTTP_ERROR'
  | 'WAIT_TIMEOUT'
  | 'WEBHOOK_INVALID'
  | (string & {});

export interface BanatieErrorInit {
  code: BanatieErrorCode;
  message: string;
  /** HTTP status; 0 when no response was received (network failure, timeout, local check). */
  status: number;
  details?: unknown;
  requestId?: string;
  /** Seconds, from the Retry-After header (429, 503). */
  retryAfter?: number;
  cause?: unknown;
}

/** Every failure of the SDK: the API's `{ success: false, error: { code, message, details } }` or a client-side one. */
export class BanatieError extends Error {
  readonly code: BanatieErrorCode;
  readonly status: number;
  readonly details?: unknown;
  readonly requestId?: string;
  readonly retryAfter?: number;

  constructor(init: BanatieErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'BanatieError';
    this.code = init.code;
    this.status = init.status;
    if (init.details !== undefined) this.details = init.details;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.retryAfter !== undefined) this.retryAfter = init.retryAfter;
  }
}

export const isBanatieError = (err: unknown): err is BanatieError => err instanceof BanatieError;

/** Seconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

interface Envelope {
  success: false;
  error: { code: string; message: string; details?: unknown; requestId?: string };
}

const isEnvelope = (body: unknown): body is Envelope => {
  const error = (body as Envelope | null)?.error;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
};

/** A BanatieError from a non-2xx response (the error envelope when there is one). */
export async function errorFromResponse(res: Response): Promise<BanatieError> {
  const requestId = res.headers.get('x-request-id') ?? undefined;
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isEnvelope(body)) {
    const { code, message, details } = body.error;
    return new BanatieError({ code, message, status: res.status, details, requestId: body.error.requestId ?? requestId, retryAfter });
  }
  return new BanatieError({
    code: 'HTTP_ERROR',
    message: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`,
    status: res.status,
    details: text ? text.slice(0, 1000) : undefined,
    requestId,
    retryAfter,
  });
}
