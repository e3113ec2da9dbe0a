// Operator commands work on the database directly, configured like the API (DATABASE_URL, REDIS_URL, …).
import { loadConfig, type Config } from '@banatie/config';
import { createDb, ensureDatabase, type Db } from '@banatie/db';
import { UsageError } from '../command.js';
import type { Io } from '../io.js';

/**
 * Runs `fn` with a small pool (an operator command needs one or two
 * connections), closed afterwards. `create`: create the database if missing.
 */
export async function withDatabase<T>(io: Io, fn: (db: Db, config: Config) => Promise<T>, opts: { create?: boolean } = {}): Promise<T> {
  const config = loadConfig(io.env);
  if (opts.create) await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, { max: 2 });
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
