import { DatabaseTimeoutError } from '@banatie/db';
import { QueueUnavailableError, RedisUnavailableError } from '@banatie/queue';

// 57014 query_canceled: a statement cancelled by a server-side statement_timeout or an operator.
const PG_CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '57014', '08000', '08001', '08003', '08004', '08006', '53300']);
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// node-postgres gives these two no code: a connection lost mid-query, and pg-pool's connect timeout.
// (Redis failures are typed: RedisUnavailableError from the producer connection, QueueUnavailableError.)
const PG_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect'];

/** True for errors that mean a backing service (PostgreSQL, Redis, storage) is down. */
export function isUnavailableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseTimeoutError || e instanceof RedisUnavailableError || e instanceof QueueUnavailableError) return true;
    const { code, message } = e as { code?: string; message?: string };
    if (code && (PG_CONNECTION_CODES.has(code) || NET_CODES.has(code))) return true;
    if (message && PG_MESSAGES.some((m) => message.includes(m))) return true;
    if (Array.isArray((e as { errors?: unknown[] }).errors) && (e as { errors: unknown[] }).errors.some(isUnavailableError)) return true;
  }
  return false;
}
