// Migration 0008 on a database that already has keys: keys made before roles
// existed become admin (they could do everything), new ones default to standard.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { TEST_PG_URL } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, createDb, migrateToLatest, type Db } from '../src/index.js';

const name = `banatie_t_${randomBytes(6).toString('hex')}`;
let db: Db;
let before: string;

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${name}`);
  db = createDb(`${TEST_PG_URL}/${name}`, { max: 2 });
  // The migrations as they were before roles.
  before = await mkdtemp(join(tmpdir(), 'banatie-migrations-'));
  for (const file of await readdir(MIGRATIONS_DIR)) if (file < '0008') await cp(join(MIGRATIONS_DIR, file), join(before, file));
});

afterAll(async () => {
  await db?.destroy();
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await rm(before, { recursive: true, force: true });
});

describe('migration 0008 (key roles, secret rotation)', () => {
  it('makes every existing key admin, and standard the default for new ones', async () => {
    await migrateToLatest(db, before);
    const org = await sql<{ id: string }>`INSERT INTO organizations (slug) VALUES ('old') RETURNING id`.execute(db);
    const project = await sql<{ id: string }>`
      INSERT INTO projects (organization_id, slug, webhook_secret, live_signing_secret)
      VALUES (${org.rows[0]!.id}, 'site', 'whsec_x', 'lss_x') RETURNING id`.execute(db);
    const projectId = project.rows[0]!.id;
    await sql`INSERT INTO api_keys (project_id, type, name, prefix, key_hash) VALUES (${projectId}, 'project', 'old', 'bnt_old', 'h1')`.execute(db);
    await sql`INSERT INTO api_keys (project_id, type, name, prefix, key_hash) VALUES (NULL, 'master', 'master', 'bnt_mst', 'h2')`.execute(db);

    expect(await migrateToLatest(db)).toContain('0008_key_roles_and_secret_rotation');

    const roles = await db.selectFrom('api_keys').select(['name', 'role']).orderBy('name').execute();
    expect(roles).toEqual([
      { name: 'master', role: 'admin' },
      { name: 'old', role: 'admin' },
    ]);
    await sql`INSERT INTO api_keys (project_id, type, name, prefix, key_hash) VALUES (${projectId}, 'project', 'new', 'bnt_new', 'h3')`.execute(db);
    expect((await db.selectFrom('api_keys').select('role').where('name', '=', 'new').executeTakeFirstOrThrow()).role).toBe('standard');

    // A master key is never standard, and a role is one of the two.
    await expect(sql`INSERT INTO api_keys (type, role, prefix, key_hash) VALUES ('master', 'standard', 'bnt_m2', 'h4')`.execute(db)).rejects.toThrow(/api_keys_role_check/);
    await expect(sql`INSERT INTO api_keys (project_id, type, role, prefix, key_hash) VALUES (${projectId}, 'project', 'owner', 'bnt_o', 'h5')`.execute(db)).rejects.toThrow(/api_keys_role_check/);

    // Existing projects have no replaced secret; a previous secret always comes with its expiry.
    const p = await db.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirstOrThrow();
    expect([p.previous_webhook_secret, p.previous_webhook_secret_expires_at, p.previous_live_signing_secret, p.previous_live_signing_secret_expires_at]).toEqual([null, null, null, null]);
    await expect(sql`UPDATE projects SET previous_webhook_secret = 'whsec_y' WHERE id = ${projectId}`.execute(db)).rejects.toThrow(/projects_previous_webhook_secret_check/);
  });
});
