import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { withStatementTimeout } from './statement-timeout.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Repositories take either the database or an open transaction. */
export type Executor = Db | Tx;

// Return BIGINT counts as numbers (all counts here fit easily).
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface DbOptions {
  max?: number;
  onError?: (err: Error) => void;
  /** DATABASE_STATEMENT_TIMEOUT_MS: every statement is cancelled after this long (DatabaseTimeoutError); 0 or unset: never. */
  statementTimeoutMs?: number;
}

export function createDb(connectionString: string, opts: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // Without this listener a PostgreSQL restart kills the process.
  pool.on('error', (err) => opts.onError?.(err));
  // The pool only listens on idle clients; a connection dropped while checked out
  // (mid-transaction, between queries) would emit an unhandled 'error' and kill the
  // process. The query in flight still fails and the client is discarded on release.
  pool.on('connect', (client) => client.on('error', (err) => opts.onError?.(err)));
  const timeoutMs = opts.statementTimeoutMs ?? 0;
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: timeoutMs > 0 ? withStatementTimeout(pool, timeoutMs) : pool }) });
}
