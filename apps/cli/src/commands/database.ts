// Operator commands work on the database directly, configured like the API (DATABASE_URL, REDIS_URL, …).
import { loadConfig, type Config } from '@banatie/config';
import { createDb, ensureDatabase, type Db } from '@banatie/db';
import { UsageError, type Io } from '@banatie/cli';

/**
 * Runs `fn` with a small pool (an operator command needs one or two
 * connections), closed afterwards. `create`: create the database if missing.
 * `direct`: DATABASE_DIRECT_URL without a statement timeout (migrations: DDL
 * and long index builds, never through a transaction-mode pooler).
 */
export async function withDatabase<T>(
  io: Io,
  fn: (db: Db, config: Config) => Promise<T>,
  opts: { create?: boolean; direct?: boolean } = {},
): Promise<T> {
  const config = loadConfig(io.env);
  const url = opts.direct ? config.databaseDirectUrl : config.databaseUrl;
  if (opts.create) await ensureDatabase(url);
  const db = createDb(url, { max: 2, statementTimeoutMs: opts.direct ? 0 : config.databaseStatementTimeoutMs });
  try {
    return await fn(db, config);
  } finally {
    await db.destroy();
  }
}

/** `acme/site` → ['acme', 'site']. */
export function splitTarget(target: string | undefined): [org: string, project: string] {
  const m = target ? /^([^/]+)\/([^/]+)$/.exec(target) : null;
  if (!m) throw new UsageError('expected <org>/<project>');
  return [m[1]!, m[2]!];
}
