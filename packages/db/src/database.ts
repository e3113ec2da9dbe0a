import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
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
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
