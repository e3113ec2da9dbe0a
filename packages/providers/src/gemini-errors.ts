import { ApiError } from '@google/genai';
import { ProviderError } from '@banatie/core';

const RETRYABLE_STATUSES = new Set([408, 500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const MAX_DETAIL_LENGTH = 300;

interface GoogleErrorBody {
  error?: {
    message?: string;
    status?: string;
    details?: Array<{ '@type'?: string; retryDelay?: string }>;
  };
}

export interface CallOutcome {
  /** Our own deadline fired. */
  timedOut: boolean;
  /** The caller's signal was aborted. */
  cancelled: boolean;
  timeoutMs: number;
}

/** Turns anything thrown while calling Gemini into a ProviderError. */
export function classifyGeminiError(err: unknown, outcome: CallOutcome): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiError) return classifyApiError(err);
  if (outcome.timedOut) {
    return new ProviderError('TIMEOUT', `Gemini did not answer within ${outcome.timeoutMs} ms`, true, { cause: err });
  }
  if (outcome.cancelled) {
    return new ProviderError('TIMEOUT', 'The Gemini request was aborted', true, { cause: err });
  }
  if (isAbortError(err)) {
    return new ProviderError('TIMEOUT', `Gemini did not answer within ${outcome.timeoutMs} ms`, true, { cause: err });
  }
  const network = describeNetworkError(err);
  if (network) {
    return new ProviderError('PROVIDER_UNAVAILABLE', `Could not reach Gemini (${network})`, true, { cause: err });
  }
  // Unknown failures (a proxy answering garbage, a body cut short…) are most
  // likely transient, so they are retried rather than failing the generation.
  return new ProviderError('PROVIDER_UNAVAILABLE', `Unexpected error calling Gemini: ${messageOf(err)}`, true, {
    cause: err,
  });
}

function classifyApiError(err: ApiError): ProviderError {
  const status = err.status;
  const body = parseBody(err.message);
  const label = [`HTTP ${status}`, body.error?.status].filter(Boolean).join(' ');
  const detail = truncate(body.error?.message ?? '');
  const suffix = detail ? `: ${detail}` : '';
  if (status === 429) {
    const retryAfterMs = parseRetryDelay(body);
    return new ProviderError('RATE_LIMITED', `Gemini is rate limiting requests (${label})${suffix}`, true, {
      rateLimited: true,
      retryAfterMs,
      cause: err,
    });
  }
  if (RETRYABLE_STATUSES.has(status) || status >= 500) {
    return new ProviderError('PROVIDER_UNAVAILABLE', `Gemini is temporarily unavailable (${label})${suffix}`, true, {
      cause: err,
    });
  }
  return new ProviderError('PROVIDER_REJECTED', `Gemini rejected the request (${label})${suffix}`, false, {
    cause: err,
  });
}

/** The SDK puts the whole JSON error body in `message`; a non-JSON body stays unparsed. */
function parseBody(message: string): GoogleErrorBody {
  try {
    const parsed: unknown = JSON.parse(message);
    return typeof parsed === 'object' && parsed !== null ? (parsed as GoogleErrorBody) : {};
  } catch {
    return {};
  }
}

/** RetryInfo.retryDelay is a protobuf Duration in JSON form, e.g. "13s" or "0.500s". */
function parseRetryDelay(body: GoogleErrorBody): number | undefined {
  const retryInfo = body.error?.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'));
  const match = /^(\d+(?:\.\d+)?)s$/.exec(retryInfo?.retryDelay?.trim() ?? '');
  return match ? Math.ceil(Number(match[1]) * 1000) : undefined;
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** Walks the `cause` chain: fetch wraps socket errors as `TypeError('fetch failed')`. */
function describeNetworkError(err: unknown): string | undefined {
  for (let current = err, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const message = current instanceof Error ? current.message : '';
    if (message === 'fetch failed' || message === 'terminated' || message === 'other side closed') {
      const cause = (current as Error).cause;
      return describeNetworkError(cause) ?? (cause instanceof Error ? `${message}: ${cause.message}` : message);
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return truncate(err instanceof Error ? err.message : String(err));
}

function truncate(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_LENGTH ? `${flat.slice(0, MAX_DETAIL_LENGTH - 1)}…` : flat;
}
