// DATABASE_STATEMENT_TIMEOUT_MS (SPEC §14): every statement on the pooled
// connections ends by the deadline, the server really stops it (a cancel, not
// just a client giving up), and the pool goes on working, directly and through
// a real PgBouncer in transaction mode.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, DatabaseTimeoutError, type Db } from '@banatie/db';
import { createTestDatabase, startPgBouncer, type PgBouncerHandle, type TestDatabase } from '@banatie/testing';

const TIMEOUT_MS = 400;

let database: TestDatabase;
let bouncer: PgBouncerHandle;
const dbs: Db[] = [];

beforeAll(async () => {
  [database, bouncer] = await Promise.all([createTestDatabase(), startPgBouncer()]);
  await sql`CREATE TABLE timeout_probe (id int PRIMARY KEY, note text)`.execute(database.db);
  await sql`INSERT INTO timeout_probe VALUES (1, 'original')`.execute(database.db);
});

afterAll(async () => {
  for (const db of dbs) await db.destroy();
  await bouncer?.close();
  await database?.drop();
});

function timedDb(url: string, statementTimeoutMs = TIMEOUT_MS): Db {
  const db = createDb(url, { max: 2, statementTimeoutMs });
  dbs.push(db);
  return db;
}

/** Statements of this test's database still running with `marker` in their text. */
async function running(marker: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = ${database.name} AND state = 'active' AND query LIKE ${`%${marker}%`} AND pid <> pg_backend_pid()`.execute(database.db);
  return rows[0]!.n;
}

async function untilNoneRunning(marker: string): Promise<void> {
  while ((await running(marker)) > 0) await new Promise((resolve) => setTimeout(resolve, 25));
}

describe.each([
  ['directly', () => database.url],
  ['through PgBouncer (transaction mode)', () => bouncer.url(database.name)],
])('statement timeout, %s', (_name, url) => {
  it('a long statement fails with DatabaseTimeoutError and the server stops running it', async () => {
    const db = timedDb(url());
    const marker = `sleep_${Math.random().toString(36).slice(2)}`;
    const started = Date.now();
    const pending = sql`SELECT pg_sleep(30) AS ${sql.raw(marker)}`.execute(db).catch((e: unknown) => e);
    // Seen running on the server first (so the check below can see it)…
    while ((await running(marker)) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const err = await pending;
    expect(err).toBeInstanceOf(DatabaseTimeoutError);
    expect((err as DatabaseTimeoutError).timeoutMs).toBe(TIMEOUT_MS);
    // Not a 30 s statement left behind on the server: the cancel stopped it (the test would time out otherwise).
    await untilNoneRunning(marker);
    expect(Date.now() - started).toBeLessThan(20_000);
    // The pool goes on with fresh connections.
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('a statement waiting on a lock times out; its transaction is rolled back', async () => {
    const db = timedDb(url());
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM timeout_probe WHERE id = 1 FOR UPDATE');
      const err = await db
        .transaction()
        .execute(async (trx) => {
          await sql`INSERT INTO timeout_probe VALUES (2, 'inside')`.execute(trx);
          await sql`UPDATE timeout_probe SET note = 'changed' WHERE id = 1`.execute(trx);
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseTimeoutError);
      await holder.query('ROLLBACK');
      const { rows } = await sql<{ id: number; note: string }>`SELECT id, note FROM timeout_probe ORDER BY id`.execute(db);
      expect(rows).toEqual([{ id: 1, note: 'original' }]);
    } finally {
      await holder.end();
    }
  });

  it('statements within the deadline are untouched', async () => {
    const db = timedDb(url());
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM generate_series(1, 1000)`.execute(db);
    expect(rows).toEqual([{ n: 1000 }]);
  });
});

it('0 turns the timeout off', async () => {
  const db = timedDb(database.url, 0);
  await expect(sql`SELECT pg_sleep(${(TIMEOUT_MS * 2) / 1000})`.execute(db)).resolves.toBeDefined();
});

it('PgBouncer really sat in between', async () => {
  const stats = await bouncer.admin('SHOW STATS');
  const ours = stats.find((row) => row.database === database.name);
  expect(Number(ours?.total_xact_count ?? 0)).toBeGreaterThan(3);
});
