import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '@banatie/config';
import { apiKeyService, systemClock, type CreatedKey, type KeyRole } from '@banatie/core';
import type { Db } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import {
  TEST_REDIS_URL,
  createTestDatabase,
  startFakeGemini,
  startS3rver,
  testQueuePrefix,
  type FakeGemini,
} from '@banatie/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import type { AppDeps } from '../src/deps.js';
import { startWorkerRuntime, type WorkerRuntime } from '../../worker/src/runtime.js';

export interface Stack {
  app: FastifyInstance;
  config: Config;
  db: Db;
  key: CreatedKey;
  fake: FakeGemini | null;
  worker: WorkerRuntime | null;
  deps: AppDeps;
  /** An admin key unless `role` says otherwise (tests written before roles need what every key could do then). */
  createKey(org: string, project: string, opts?: { expiresInDays?: number; role?: KeyRole }): Promise<CreatedKey>;
  close(): Promise<void>;
}

/**
 * The real thing in one process: a fresh PostgreSQL database, Redis with its
 * own QUEUE_PREFIX, fs storage or s3rver, the local provider or the real SDK
 * against the fake Gemini server, the API (inject) and a BullMQ worker.
 */
export async function startStack(
  opts: { storage?: 'fs' | 's3'; provider?: 'local' | 'gemini'; worker?: boolean; env?: Record<string, string> } = {},
): Promise<Stack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const testDb = await createTestDatabase();
  cleanups.push(() => testDb.drop());
  const env: Record<string, string> = {
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: testQueuePrefix(),
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_HOUR: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
    PUBLIC_BASE_URL: 'http://cdn.test',
    // Test files run stacks in parallel: no fixed metrics port unless a test asks for one.
    WORKER_METRICS_PORT: '0',
  };
  if (opts.storage === 's3') {
    const s3 = await startS3rver();
    cleanups.push(() => s3.close());
    Object.assign(env, { S3_ENDPOINT: s3.endPoint, S3_PORT: String(s3.port), S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: s3.bucket });
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'banatie-storage-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    env.STORAGE_DIR = dir;
  }
  let fake: FakeGemini | null = null;
  if (opts.provider === 'gemini') {
    fake = await startFakeGemini();
    cleanups.push(() => fake!.close());
    Object.assign(env, { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: fake.baseUrl, GEMINI_TIMEOUT_MS: '2000' });
  }
  Object.assign(env, opts.env);
  const config = loadConfig(env);
  const logger = createLogger({ level: 'silent' });
  const deps = await createAppDeps(config, logger);
  const app = await buildApp(deps);
  await app.ready();
  let worker: WorkerRuntime | null = null;
  if (opts.worker !== false) worker = await startWorkerRuntime(config, logger);
  const createKey = (org: string, project: string, o: { expiresInDays?: number; role?: KeyRole } = {}) =>
    apiKeyService.createProjectKey({ db: testDb.db, clock: systemClock }, { orgSlug: org, projectSlug: project, role: 'admin', ...o });
  const key = await createKey('acme', 'site');
  return {
    app,
    config,
    db: testDb.db,
    key,
    fake,
    worker,
    deps,
    createKey,
    close: async () => {
      await worker?.close(10_000);
      await app.close();
      await deps.close();
      for (const c of cleanups.reverse()) await c();
    },
  };
}

/** Puts the stack's API on a real 127.0.0.1 port (for HTTP clients such as the SDK); it closes with the stack. Returns the base URL. */
export async function listenStack(stack: Stack): Promise<string> {
  await stack.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;
}

/** Another API instance of the same deployment: the stack's database, Redis prefix and storage (cross-instance tests). */
export async function startPeerApp(stack: Stack): Promise<{ app: FastifyInstance; deps: AppDeps; close: () => Promise<void> }> {
  const deps = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  await app.ready();
  return {
    app,
    deps,
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}

/** A second API on the stack's database whose Redis is unreachable (outage tests). */
export async function startAppWithoutRedis(stack: Stack): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const config = loadConfig({
    DATABASE_URL: stack.config.databaseUrl,
    REDIS_URL: 'redis://127.0.0.1:1',
    STORAGE_DIR: stack.config.storage.driver === 'fs' ? stack.config.storage.dir : '/tmp/banatie-unused',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_HOUR: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
  });
  const deps = await createAppDeps(config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  return {
    app,
    close: async () => {
      await app.close();
      await deps.close();
    },
  };
}

/** Long-polls (Prefer: wait on GET) until the generation is terminal; bounded by the test timeout. */
export async function waitForTerminal(stack: Stack, id: string, apiKey = stack.key.key): Promise<any> {
  for (;;) {
    const res = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': apiKey, prefer: 'wait=10' } });
    const data = res.json().data;
    if (['success', 'failed', 'cancelled'].includes(data.status)) return data;
  }
}
