// Keys and secrets across processes (SPEC §16): two API processes and a worker
// on one PostgreSQL and Redis. A rotation made through one API is what the
// other API and the worker sign and verify with at once; a key revoked through
// one API, or expiring, is refused by the other even while it holds the key in
// its cache.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signLiveUrl } from '@banatie/core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, createTestDatabase, startWebhookReceiver, testQueuePrefix, type ReceivedWebhook, type TestDatabase, type WebhookReceiver } from '@banatie/testing';
import { runCli, startApi, startWorker, stopAll, type ApiProcess, type Env } from './helpers/processes.js';

/** SPEC §16 as built: an API process trusts a cached key for at most this long without PostgreSQL. */
const KEY_CACHE_TTL_MS = 15_000;

describe('keys and secrets with two API processes and a worker', () => {
  let database: TestDatabase;
  let storageDir: string;
  let receiver: WebhookReceiver;
  let env: Env;
  let a: ApiProcess;
  let b: ApiProcess;
  let admin: string;
  let master: string;

  beforeAll(async () => {
    [database, storageDir, receiver] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'banatie-keys-e2e-')), startWebhookReceiver()]);
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      STORAGE_DRIVER: 'fs',
      STORAGE_DIR: storageDir,
      IMAGE_PROVIDER: 'local',
      RATE_LIMIT_PER_HOUR: '0',
      READ_RATE_LIMIT_PER_MINUTE: '0',
      AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_BASE_MS: '50',
      LOG_LEVEL: 'info',
    };
    const [adminCli, masterCli] = await Promise.all([
      runCli(['key', 'create', 'acme/site', '--role', 'admin', '--json'], env),
      runCli(['key', 'create', '--master', '--json'], env),
    ]);
    expect(adminCli.code, adminCli.stderr).toBe(0);
    expect(masterCli.code, masterCli.stderr).toBe(0);
    admin = JSON.parse(adminCli.stdout).key;
    master = JSON.parse(masterCli.stdout).key;
    [a, b] = await Promise.all([startApi(env), startApi(env), startWorker(env)]);
  });

  afterAll(async () => {
    await stopAll();
    await Promise.allSettled([receiver?.close(), database?.drop(), storageDir && rm(storageDir, { recursive: true, force: true })]);
  });

  async function call(api: ApiProcess, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const project = async (api: ApiProcess) => (await call(api, 'GET', '/api/v1/project', admin)).body.data;

  /** Polls until `check` returns a value; fails past `timeoutMs`. */
  async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  function verifies(secret: string, call: ReceivedWebhook): boolean {
    const h = call.headers;
    try {
      new Webhook(secret).verify(call.body, { 'webhook-id': String(h['webhook-id']), 'webhook-timestamp': String(h['webhook-timestamp']), 'webhook-signature': String(h['webhook-signature']) });
      return true;
    } catch {
      return false;
    }
  }

  it('a webhook rotation made through one API is what the other API shows and the worker signs with', async () => {
    const before = await project(a);
    const rotated = await call(a, 'POST', '/api/v1/project/secrets/rotate', admin, { secret: 'webhook', graceSeconds: 3600 });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const after = rotated.body.data;
    // The other API, at once: the same secrets and the same grace period.
    const seenByB = await project(b);
    expect(seenByB.webhookSecret).toBe(after.webhookSecret);
    expect(seenByB.secrets).toEqual(after.secrets);
    expect(after.secrets.webhook.previousSecretExpiresAt).toEqual(expect.any(String));

    // A generation submitted through B, delivered by the worker process: signed with both secrets.
    const submitted = await call(b, 'POST', '/api/v1/generations', admin, { prompt: 'a rotated webhook', webhookUrl: `${receiver.url}/rotated` });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const [delivery] = await receiver.waitFor(1, '/rotated');
    expect(String(delivery!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifies(before.webhookSecret, delivery!)).toBe(true);
    expect(verifies(after.webhookSecret, delivery!)).toBe(true);
  });

  it('a live rotation made through one API: the other accepts the old signature until the grace period ends, then refuses it', async () => {
    const scope = await call(a, 'POST', '/api/v1/live/scopes', admin, { slug: 'signed', requireSignature: true });
    expect(scope.status, JSON.stringify(scope.body)).toBe(201);
    const old = (await project(a)).liveSigningSecret as string;
    const signed = (api: ApiProcess, prompt: string, secret: string) => signLiveUrl(`${api.url}/cdn/acme/site/live/signed?prompt=${encodeURIComponent(prompt)}`, secret);

    const rotated = await call(a, 'POST', '/api/v1/project/secrets/rotate', admin, { secret: 'live', graceSeconds: 5 });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.data.liveSigningSecret as string;
    // B starts the generation (the worker makes it) for a URL signed with the old secret.
    const during = await fetch(signed(b, 'a mill pond, old secret, in the grace period', old));
    expect(during.status, await during.clone().text()).toBe(200);
    expect(during.headers.get('x-cache-status')).toBe('MISS');

    await eventually('the grace period to end', async () => ((await project(b)).secrets.live.previousSecretExpiresAt === null ? true : undefined));
    const after = await fetch(signed(b, 'a mill pond, old secret, after the grace period', old));
    expect(after.status).toBe(403);
    expect(((await after.json()) as any).error).toMatchObject({ code: 'FORBIDDEN', message: 'Invalid live URL signature' });
    const resigned = await fetch(signed(a, 'a mill pond, old secret, after the grace period', fresh));
    expect(resigned.status, await resigned.clone().text()).toBe(200);
  });

  it('a key revoked through one API is refused by the other, which had it cached', async () => {
    const created = await call(a, 'POST', '/api/admin/keys', master, { orgSlug: 'acme', projectSlug: 'site', name: 'to revoke' });
    expect(created.status).toBe(201);
    const { key, keyId } = created.body.data;
    // Both instances verify the key now (and cache it).
    for (const api of [a, b]) expect((await call(api, 'GET', '/api/v1/generations', key)).status).toBe(200);

    const revoked = await call(a, 'DELETE', `/api/admin/keys/${keyId}`, master);
    expect(revoked.status).toBe(200);
    // The revoking API refuses it before answering; the other one once the broadcast arrives (bounded by the cache TTL).
    expect((await call(a, 'GET', '/api/v1/generations', key)).status).toBe(401);
    await eventually('API B to refuse the revoked key', async () => ((await call(b, 'GET', '/api/v1/generations', key)).status === 401 ? true : undefined), KEY_CACHE_TTL_MS);
  });

  it('a key that expires while both APIs have it cached is refused by both from its expiry on', async () => {
    const created = await call(a, 'POST', '/api/admin/keys', master, { orgSlug: 'acme', projectSlug: 'site', name: 'short-lived', expiresInDays: 4 / 86_400 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { key, keyId } = created.body.data;
    const listed = await call(a, 'GET', '/api/admin/keys?orgSlug=acme&projectSlug=site', master);
    const expiresAt = Date.parse(listed.body.data.find((k: { id: string }) => k.id === keyId).expiresAt);
    const cachedAt = Date.now();
    for (const api of [a, b]) expect((await call(api, 'GET', '/api/v1/generations', key)).status).toBe(200);
    expect(Date.now(), 'the key must still be valid after it was cached').toBeLessThan(expiresAt);

    for (const api of [a, b]) {
      await eventually('the expired key to be refused', async () => ((await call(api, 'GET', '/api/v1/generations', key)).status === 401 ? true : undefined));
      // Not dropped by the cache's TTL, which would take until cachedAt + 15 s: refused because it expired.
      expect(Date.now()).toBeLessThan(cachedAt + KEY_CACHE_TTL_MS);
    }
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });
});
