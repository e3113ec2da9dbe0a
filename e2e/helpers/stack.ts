// The environment of an end-to-end test in one place: a database of its own,
// a QUEUE_PREFIX of its own on the shared Redis, s3rver or a storage directory,
// the fake Gemini server process or the local provider, a key made by the CLI,
// and the compiled API and worker processes. `stop()` undoes all of it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CreatedKey } from '@banatie/core';
import {
  TEST_REDIS_URL,
  createTestDatabase,
  reserveTestDatabase,
  startS3rver,
  testQueuePrefix,
  type S3rverHandle,
  type TestDatabase,
} from '@banatie/testing';
import {
  runCli,
  startApi,
  startFakeGeminiProcess,
  startWorker,
  type ApiProcess,
  type Env,
  type FakeGeminiProcess,
  type ManagedProcess,
} from './processes.js';

export interface TestStackOptions {
  /** Object storage: s3rver, or a temporary directory (default). */
  storage?: 's3' | 'fs';
  /** Image provider: the real SDK against the fake Gemini server process, or the built-in local one (default). */
  provider?: 'gemini' | 'local';
  /** API processes to start (default 1). */
  apis?: number;
  /** Worker processes to start (default 1). */
  workers?: number;
  /** `<org>/<project>` to create a key for with the CLI (default `acme/site`); false for none. */
  key?: string | false;
  /** Role of that key (default `standard`, as `key create`'s). */
  keyRole?: KeyRole;
  /** `migrated` (default): a fresh migrated database; `missing`: only its name, for a test that runs `banatie migrate`. */
  database?: 'migrated' | 'missing';
  /** Default: the shared test Redis (TEST_REDIS_URL). */
  redisUrl?: string;
  /** Variables for every process, over the defaults; a function gets the stack's database (e.g. to reach it through a pooler). */
  env?: Env | ((database: TestDatabase) => Env);
}

export interface TestStack {
  /** The environment of every process of the stack (and of the operator CLI). */
  env: Env;
  database: TestDatabase;
  /** The fs storage directory; null with s3. */
  storageDir: string | null;
  s3: S3rverHandle | null;
  fake: FakeGeminiProcess | null;
  apis: ApiProcess[];
  workers: ManagedProcess[];
  /** The first API. */
  readonly api: ApiProcess;
  /** What `banatie key create <org>/<project> --json` printed. */
  readonly key: CreatedKey;
  /** One more API (or worker) on the stack's environment, plus `env`; stopped with the stack. */
  startApi(env?: Env): Promise<ApiProcess>;
  startWorker(env?: Env): Promise<ManagedProcess>;
  /** Stops the stack's processes, then drops the database and removes the storage. */
  stop(): Promise<void>;
}

export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const processes: ManagedProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
  };
  /** Registers what `started` yields for clean-up as soon as it exists, even if its siblings fail. */
  const owned = <T>(started: Promise<T>, cleanup: (value: T) => Promise<unknown>) =>
    started.then((value) => {
      cleanups.push(() => cleanup(value));
      return value;
    });
  const tracked = <T extends ManagedProcess>(started: Promise<T>) =>
    started.then((p) => {
      processes.push(p);
      return p;
    });

  try {
    const [database, storage, fake] = await allStarted([
      opts.database === 'missing'
        ? owned(Promise.resolve(reserveTestDatabase()), (d) => d.drop())
        : owned(createTestDatabase(), (d) => d.drop()),
      opts.storage === 's3'
        ? owned(startS3rver(), (s3) => s3.close())
        : owned(mkdtemp(join(tmpdir(), 'banatie-e2e-')), (dir) => rm(dir, { recursive: true, force: true })),
      opts.provider === 'gemini' ? tracked(startFakeGeminiProcess()) : null,
    ]);
    const s3 = typeof storage === 'string' ? null : storage;
    const storageDir = typeof storage === 'string' ? storage : null;
    const env: Env = {
      DATABASE_URL: database.url,
      REDIS_URL: opts.redisUrl ?? TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      ...(s3
        ? {
            STORAGE_DRIVER: 's3',
            S3_ENDPOINT: s3.endPoint,
            S3_PORT: String(s3.port),
            S3_USE_SSL: 'false',
            S3_ACCESS_KEY: s3.accessKey,
            S3_SECRET_KEY: s3.secretKey,
            S3_BUCKET: s3.bucket,
          }
        : { STORAGE_DRIVER: 'fs', STORAGE_DIR: storageDir! }),
      ...(fake ? { IMAGE_PROVIDER: 'gemini', GEMINI_API_KEY: 'fake-gemini-key', GEMINI_BASE_URL: fake.url } : { IMAGE_PROVIDER: 'local' }),
      RATE_LIMIT_PER_HOUR: '0',
      READ_RATE_LIMIT_PER_MINUTE: '0',
      AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
      // The worker says "worker ready" at info.
      LOG_LEVEL: 'info',
      ...(typeof opts.env === 'function' ? opts.env(database) : opts.env),
    };
    const apis: ApiProcess[] = [];
    const workers: ManagedProcess[] = [];
    const startOneApi = (extra: Env = {}) => tracked(startApi({ ...env, ...extra })).then((p) => (apis.push(p), p));
    const startOneWorker = (extra: Env = {}) => tracked(startWorker({ ...env, ...extra })).then((p) => (workers.push(p), p));
    const keySlug = opts.key ?? 'acme/site';
    // The key first: on a busy machine, every process starting at once makes each start slowly.
    const key = keySlug === false ? null : await createKey(keySlug, env, opts.keyRole);
    await allStarted([
      ...Array.from({ length: opts.apis ?? 1 }, () => startOneApi()),
      ...Array.from({ length: opts.workers ?? 1 }, () => startOneWorker()),
    ]);
    return {
      env,
      database,
      storageDir,
      s3,
      fake,
      apis,
      workers,
      get api() {
        if (!apis[0]) throw new Error('this stack runs no API (apis: 0)');
        return apis[0];
      },
      get key() {
        if (!key) throw new Error('this stack made no key (key: false)');
        return key as CreatedKey;
      },
      startApi: startOneApi,
      startWorker: startOneWorker,
      stop,
    };
  } catch (err) {
    // Something did not start: nothing else may outlive the test.
    await stop();
    throw err;
  }
}

/** Like Promise.all, but waits for every member to settle, so none starts after a failure was cleaned up. */
async function allStarted<T extends readonly unknown[]>(started: readonly [...T]): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(started);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

export type KeyRole = 'admin' | 'standard';

/** A project key made by the operator CLI, as `banatie key create <slug> --role <role> --json` prints it. */
export async function createKey(slug: string, env: Env, role: KeyRole = 'standard'): Promise<CreatedKey> {
  const cli = await runCli(['key', 'create', slug, '--role', role, '--json'], env);
  expect(cli.code, cli.stderr).toBe(0);
  return JSON.parse(cli.stdout) as CreatedKey;
}
