// The CLI as an operator runs it (SPEC §2 "CLI"): the compiled apps/cli, its
// exit codes, and exactly what it prints on stdout.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PG_URL } from '@banatie/testing';
import { runCli, type Env } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const KEY_PATTERN = /^bnt_[0-9A-Za-z]{40}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

let stack: TestStack;
let dbName: string;
let env: Env;

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await client.connect();
  try {
    return await client.query<T>(text, values);
  } finally {
    await client.end();
  }
}

const databaseExists = async (name: string): Promise<boolean> =>
  (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;

/** The single JSON object a `--json` command must print, and nothing else. */
function onlyJsonObject(stdout: string): Record<string, unknown> {
  expect(stdout.endsWith('\n')).toBe(true);
  const lines = stdout.split('\n').filter((l) => l !== '');
  expect(lines, `stdout:\n${stdout}`).toHaveLength(1);
  const value = JSON.parse(lines[0]!) as unknown;
  expect(value).toBeTypeOf('object');
  expect(Array.isArray(value)).toBe(false);
  return value as Record<string, unknown>;
}

beforeAll(async () => {
  // No database yet: `migrate` creates it. The operator commands' own output is checked, so the services log warnings only.
  stack = await startTestStack({ database: 'missing', key: false, apis: 0, workers: 0, env: { LOG_LEVEL: 'warn' } });
  ({ env } = stack);
  dbName = stack.database.name;
});

afterAll(async () => {
  await stack?.stop();
});

describe('cli', () => {
  // The tests below share the database this one creates, in order.
  let created: { key: string; keyId: string; organizationId: string; projectId: string };
  // Started in the background once the database exists; used by the revoke test.
  let apiStarting: ReturnType<TestStack['startApi']> | undefined;

  it('migrate creates the missing database and is idempotent', async () => {
    expect(await databaseExists(dbName)).toBe(false);
    const first = await runCli(['migrate'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(await databaseExists(dbName)).toBe(true);
    apiStarting = stack.startApi();
    apiStarting.catch(() => undefined); // awaited (and reported) by the revoke test
    const tables = await (async () => {
      const client = new pg.Client({ connectionString: env.DATABASE_URL });
      await client.connect();
      try {
        const r = await client.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
        );
        return r.rows.map((row) => row.table_name);
      } finally {
        await client.end();
      }
    })();
    expect(tables).toEqual(expect.arrayContaining(['organizations', 'projects', 'api_keys', 'generations', 'images']));

    const second = await runCli(['migrate'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
  });

  it('key create <org>/<project> --json prints exactly one object with the six fields', async () => {
    const [r, second] = await Promise.all([
      runCli(['key', 'create', 'acme/site', '--name', 'e2e', '--json'], env),
      runCli(['key', 'create', 'acme/site', '--json'], env),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const obj = onlyJsonObject(r.stdout);
    expect(Object.keys(obj).sort()).toEqual(['key', 'keyId', 'orgSlug', 'organizationId', 'projectId', 'projectSlug']);
    expect(obj.key).toMatch(KEY_PATTERN);
    expect(obj.keyId).toMatch(UUID);
    expect(obj.organizationId).toMatch(UUID);
    expect(obj.projectId).toMatch(UUID);
    expect(obj.orgSlug).toBe('acme');
    expect(obj.projectSlug).toBe('site');
    created = obj as typeof created;

    // A second key for the same project (created concurrently) shares the organization and project.
    expect(second.code, second.stderr).toBe(0);
    const again = onlyJsonObject(second.stdout);
    expect(again.projectId).toBe(created.projectId);
    expect(again.organizationId).toBe(created.organizationId);
    expect(again.key).not.toBe(created.key);
  });

  it('key create --master --json prints {key, keyId}', async () => {
    const r = await runCli(['key', 'create', '--master', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const obj = onlyJsonObject(r.stdout);
    expect(Object.keys(obj).sort()).toEqual(['key', 'keyId']);
    expect(obj.key).toMatch(KEY_PATTERN);
    expect(obj.keyId).toMatch(UUID);
  });

  it('key list shows the display prefix, never the key', async () => {
    const [r, json] = await Promise.all([runCli(['key', 'list', 'acme/site'], env), runCli(['key', 'list', 'acme/site', '--json'], env)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(created.key);
    const row = r.stdout.split('\n').find((l) => l.startsWith(created.keyId));
    expect(row, r.stdout).toBeDefined();
    const prefix = row!.split('\t')[1]!;
    expect(prefix.length).toBeGreaterThanOrEqual(8);
    expect(prefix.length).toBeLessThan(created.key.length);
    expect(created.key.startsWith(prefix.replace(/[.…]+$/, ''))).toBe(true);

    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain(created.key);
    const keys = JSON.parse(json.stdout) as Array<{ id: string; prefix: string }>;
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.id === created.keyId)?.prefix).toBe(prefix);
  });

  it('key create --role admin|standard: standard by default, the role shown as the last column of key list', async () => {
    const [adminKey, badRole, masterWithRole] = await Promise.all([
      runCli(['key', 'create', 'roles/site', '--role', 'admin', '--name', 'owner', '--json'], env),
      runCli(['key', 'create', 'roles/site', '--role', 'owner', '--json'], env),
      runCli(['key', 'create', '--master', '--role', 'admin', '--json'], env),
    ]);
    expect(adminKey.code, adminKey.stderr).toBe(0);
    const admin = onlyJsonObject(adminKey.stdout);
    // The --json object keeps exactly its six fields (SPEC §2).
    expect(Object.keys(admin).sort()).toEqual(['key', 'keyId', 'orgSlug', 'organizationId', 'projectId', 'projectSlug']);
    for (const r of [badRole, masterWithRole]) {
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/--role/);
    }
    const plain = onlyJsonObject((await runCli(['key', 'create', 'roles/site', '--name', 'app', '--json'], env)).stdout);

    const list = await runCli(['key', 'list', 'roles/site'], env);
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(header).toEqual(['id', 'prefix', 'name', 'created', 'expires', 'last used', 'revoked', 'role']);
    const roleOf = Object.fromEntries(rows.map((cells) => [cells[0], cells[7]]));
    expect(roleOf).toEqual({ [admin.keyId as string]: 'admin', [plain.keyId as string]: 'standard' });
    const json = JSON.parse((await runCli(['key', 'list', 'roles/site', '--json'], env)).stdout) as Array<{ id: string; role: string }>;
    expect(Object.fromEntries(json.map((k) => [k.id, k.role]))).toEqual(roleOf);
    // Only the valid requests created keys.
    expect(await adminCount(`SELECT count(*) AS n FROM api_keys WHERE type = 'master'`)).toBe(1);
  });

  it('key revoke makes a running API answer 401 for that key', async () => {
    expect(apiStarting, 'started by the migrate test').toBeDefined();
    const api = await apiStarting!;
    const list = () => fetch(`${api.url}/api/v1/generations`, { headers: { 'x-api-key': created.key } });
    const before = await list();
    expect(before.status, await before.text()).toBe(200);

    const r = await runCli(['key', 'revoke', created.keyId], env);
    expect(r.code, r.stderr).toBe(0);

    const after = await list();
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    expect(await adminCount(`SELECT count(*) AS n FROM api_keys WHERE id = '${created.keyId}' AND revoked_at IS NOT NULL`)).toBe(1);
  });

  it('key create with an invalid slug exits non-zero with a message and prints nothing on stdout', async () => {
    const r = await runCli(['key', 'create', 'Bad_Slug/x', '--json'], env);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).toBe('');
    // The service's own error, with its stable code: the CLI reads core's errors without any HTTP status.
    expect(r.stderr).toMatch(/^error VALIDATION_ERROR: Invalid organization slug/);
    const orgs = await adminCount(`SELECT count(*) AS n FROM organizations WHERE slug = 'Bad_Slug'`);
    expect(orgs).toBe(0);
  });

  it('project show --json has the project ids and both secrets', async () => {
    const r = await runCli(['project', 'show', 'acme/site', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const obj = onlyJsonObject(r.stdout);
    expect(obj).toMatchObject({ projectId: created.projectId, organizationId: created.organizationId, orgSlug: 'acme', projectSlug: 'site' });
    expect(obj.webhookSecret).toMatch(/^whsec_\S{16,}$/);
    expect(obj.liveSigningSecret).toEqual(expect.any(String));
    expect((obj.liveSigningSecret as string).length).toBeGreaterThanOrEqual(16);
    expect(obj.settings).toBeTypeOf('object');
    // No rotation yet: nothing but the current secrets is valid.
    expect(obj.secrets).toEqual({ webhook: { previousSecretExpiresAt: null }, live: { previousSecretExpiresAt: null } });
  });

  it('--expires-in-days 0 is refused and creates nothing', async () => {
    const keysBefore = await adminCount(`SELECT count(*) AS n FROM api_keys`);
    const create = (days: string) => runCli(['key', 'create', 'acme/site', '--expires-in-days', days, '--json'], env);
    const [ok, ...refused] = await Promise.all([create('7'), create('0'), create('-3'), create('abc')]);
    for (const [i, r] of refused.entries()) {
      expect(r.code, `--expires-in-days ${['0', '-3', 'abc'][i]}`).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/expires-in-days/);
    }
    expect(ok.code, ok.stderr).toBe(0);
    const { keyId } = onlyJsonObject(ok.stdout);
    // Only the valid one created a key, and it expires.
    expect(await adminCount(`SELECT count(*) AS n FROM api_keys`)).toBe(keysBefore + 1);
    expect(await adminCount(`SELECT count(*) AS n FROM api_keys WHERE id = '${keyId}' AND expires_at > now() + interval '6 days'`)).toBe(1);
  });
});

async function adminCount(text: string): Promise<number> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>(text);
    return Number(r.rows[0]!.n);
  } finally {
    await client.end();
  }
}
