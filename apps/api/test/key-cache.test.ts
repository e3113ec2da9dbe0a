// The in-process API-key cache: verified keys skip PostgreSQL, and a revocation
// on one API instance reaches every other instance through Redis.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyCache, apiKeyService, systemClock, type CreatedKey } from '@banatie/core';
import { TEST_REDIS_URL, createTestDatabase, testQueuePrefix, type TestDatabase } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingApi, type RecordingApi } from './sql-log.js';

type Instance = RecordingApi;

let testDb: TestDatabase;
let storageDir: string;
const instances: Instance[] = [];
let master: string;

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const instance = await startRecordingApi(env);
  instances.push(instance);
  return instance;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  storageDir = await mkdtemp(join(tmpdir(), 'banatie-keycache-'));
  master = (await apiKeyService.createMasterKey({ db: testDb.db, clock: systemClock })).key;
});

afterAll(async () => {
  for (const i of instances) await i.close();
  await testDb?.drop();
  await rm(storageDir, { recursive: true, force: true });
});

function env(prefix: string): Record<string, string> {
  return {
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    STORAGE_DIR: storageDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_HOUR: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
  };
}

const list = (i: Instance, key: string) => i.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { 'x-api-key': key } });
const keyLookups = (i: Instance) => i.statements.filter((s) => s.includes('"api_keys"') && s.startsWith('select')).length;

function createKey(org: string): Promise<CreatedKey> {
  return apiKeyService.createProjectKey({ db: testDb.db, clock: systemClock }, { orgSlug: org, projectSlug: 'site' });
}

/** Resolves once `cache.revoke(keyId)` has been called (the broadcast arrived). */
function revocationArrives(cache: ApiKeyCache, keyId: string): Promise<void> {
  return new Promise((resolve) => {
    const original = cache.revoke.bind(cache);
    cache.revoke = (id: string) => {
      original(id);
      if (id === keyId) resolve();
    };
  });
}

describe('API key cache', () => {
  it('looks a verified key up once, then answers from memory', async () => {
    const api = await startInstance(env(testQueuePrefix()));
    const key = await createKey('cached');
    for (let i = 0; i < 3; i++) expect((await list(api, key.key)).statusCode).toBe(200);
    expect(keyLookups(api)).toBe(1);
  });

  it('does not cache unknown keys', async () => {
    const api = await startInstance(env(testQueuePrefix()));
    const unknown = `bnt_${'Z'.repeat(40)}`;
    for (let i = 0; i < 2; i++) expect((await list(api, unknown)).statusCode).toBe(401);
    expect(keyLookups(api)).toBe(2);
    expect(api.deps.keyCache!.size).toBe(0);
  });

  it('a key revoked through one instance is refused by another that had it cached', async () => {
    const prefix = testQueuePrefix();
    const a = await startInstance(env(prefix));
    const b = await startInstance(env(prefix));
    const key = await createKey('shared');
    expect((await list(b, key.key)).statusCode).toBe(200);
    expect((await list(b, key.key)).statusCode).toBe(200);
    expect(keyLookups(b)).toBe(1);

    const arrived = revocationArrives(b.deps.keyCache!, key.keyId);
    const revoke = await a.app.inject({ method: 'DELETE', url: `/api/admin/keys/${key.keyId}`, headers: { 'x-api-key': master } });
    expect(revoke.statusCode, revoke.body).toBe(200);
    // The revoking instance drops the key itself, without waiting for Redis.
    expect((await list(a, key.key)).statusCode).toBe(401);
    await arrived;
    const after = await list(b, key.key);
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
  });

  it('a cached key is refused once it expires', async () => {
    const api = await startInstance(env(testQueuePrefix()));
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    api.deps.clock = clock;
    api.deps.keyCache = new ApiKeyCache({ ttlMs: 30 * 86_400_000, maxEntries: 10, clock });
    const key = await apiKeyService.createProjectKey({ db: testDb.db, clock: systemClock }, { orgSlug: 'expiring', projectSlug: 'site', expiresInDays: 1 });
    expect((await list(api, key.key)).statusCode).toBe(200);
    now += 2 * 86_400_000;
    expect((await list(api, key.key)).statusCode).toBe(401);
    expect(keyLookups(api)).toBe(1);
  });
});
