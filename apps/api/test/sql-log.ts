import { loadConfig } from '@banatie/config';
import type { Database } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import type { AppDeps } from '../src/deps.js';
import { createAppDeps } from '../src/main-deps.js';

export interface RecordingApi {
  app: FastifyInstance;
  deps: AppDeps;
  /** Every SQL statement this instance sent to PostgreSQL, in order (hot-path checks count them). */
  statements: string[];
  close(): Promise<void>;
}

/** An API instance (real deps from `env`) whose database handle records each statement. */
export async function startRecordingApi(env: Record<string, string>): Promise<RecordingApi> {
  const deps = await createAppDeps(loadConfig(env), createLogger({ level: 'silent' }));
  const statements: string[] = [];
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 4 });
  pool.on('error', () => undefined);
  const recording = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => void statements.push(event.query.sql),
  });
  deps.db = recording;
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    statements,
    close: async () => {
      await app.close();
      await deps.close(); // destroys the handle createAppDeps made (never used)
      await recording.destroy();
    },
  };
}
