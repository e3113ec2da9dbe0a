import { DatabaseTimeoutError } from '@banatie/db';

// 57014 query_canceled: a statement cancelled by a server-side statement_timeout or an operator.
const PG_CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '57014', '08000', '08001', '08003', '08004', '08006', '53300']);
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Reached the max retries per request limit',
  'connect ECONNREFUSED',
];

/** True for errors that mean a backing service (PostgreSQL, Redis, storage) is down. */
export function isUnavailableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseTimeoutError) return true;
    const { code, message, name } = e as { code?: string; message?: string; name?: string };
    if (code && (PG_CONNECTION_CODES.has(code) || NET_CODES.has(code))) return true;
    if (name === 'MaxRetriesPerRequestError' || name === 'QueueUnavailableError') return true;
    if (message && MESSAGES.some((m) => message.includes(m))) return true;
    if (Array.isArray((e as { errors?: unknown[] }).errors) && (e as { errors: unknown[] }).errors.some(isUnavailableError)) return true;
  }
  return false;
}
