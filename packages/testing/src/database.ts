import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, migrateToLatest, type Db } from '@banatie/db';

/** Server the tests use; override with TEST_PG_URL (a URL without a database name). */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The suite's own 3-master Redis Cluster (SPEC §14), as REDIS_CLUSTER_NODES takes it:
 * `scripts/lib.sh` `ensure_redis_cluster` starts it (scripts/test.sh does) and exports this.
 */
export const TEST_REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES ?? '127.0.0.1:17101,127.0.0.1:17102,127.0.0.1:17103';

/** TEST_REDIS_CLUSTER_NODES as `{host, port}` seed nodes. */
export function testRedisClusterNodes(): { host: string; port: number }[] {
  return TEST_REDIS_CLUSTER_NODES.split(',').map((node) => {
    const [host, port] = node.trim().split(':');
    return { host: host!, port: Number(port) };
  });
}

export interface TestDatabase {
  url: string;
  name: string;
  db: Db;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function testDatabase(name: string): TestDatabase {
  const url = `${TEST_PG_URL}/${name}`;
  const db = createDb(url, { max: 5 });
  return {
    url,
    name,
    db,
    drop: async () => {
      await db.destroy();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

const testDatabaseName = () => `banatie_t_${randomBytes(6).toString('hex')}`;

/** A fresh, migrated database per test file, so files run in parallel. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = testDatabaseName();
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const database = testDatabase(name);
  await migrateToLatest(database.db);
  return database;
}

/**
 * The name and URL of a database that does not exist yet, for a test that
 * creates it (`banatie migrate`); `drop` removes it if it was created. `db`
 * connects only when used.
 */
export function reserveTestDatabase(): TestDatabase {
  return testDatabase(testDatabaseName());
}

/** A QUEUE_PREFIX of its own per test file, so files share one Redis safely. */
export function testQueuePrefix(): string {
  return `bt_${randomBytes(5).toString('hex')}`;
}
