// The whole pipeline as separate processes: API processes, worker processes,
// the CLI, PostgreSQL, Redis, S3 (s3rver) or the filesystem, and Gemini (the
// fake server process) or the built-in local provider.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_PG_URL,
  TEST_REDIS_URL,
  createTestDatabase,
  startS3rver,
  testQueuePrefix,
  type S3rverHandle,
  type TestDatabase,
} from '@banatie/testing';
import {
  PNG_SIGNATURE,
  runCli,
  startApi,
  startFakeGeminiProcess,
  startWorker,
  stopAll,
  submitGeneration,
  waitForTerminal,
  type ApiProcess,
  type CliResult,
  type ManagedProcess,
  type Env,
  type FakeGeminiProcess,
  type GenerationData,
} from './helpers/processes.js';

const GENERATIONS = 50;

function parseKey(stdout: string): { key: string; projectId: string } {
  const created = JSON.parse(stdout) as { key: string; projectId: string };
  expect(created.key).toMatch(/^bnt_[0-9A-Za-z]{40}$/);
  return created;
}

async function fetchPng(url: string): Promise<Buffer> {
  const res = await fetch(url);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(res.status, `GET ${url}`).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^image\/png/);
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature').toBe(true);
  return bytes;
}

describe('two APIs and two workers, Gemini (fake) and S3', () => {
  let database: TestDatabase;
  let s3: S3rverHandle;
  let fake: FakeGeminiProcess;
  let env: Env;
  const apis: ApiProcess[] = [];
  const workers: ManagedProcess[] = [];
  let keyCli: CliResult;

  beforeAll(async () => {
    [database, s3, fake] = await Promise.all([createTestDatabase(), startS3rver(), startFakeGeminiProcess()]);
    // A small delay per image so the jobs overlap and spread over both workers.
    await fake.setDefault({ kind: 'image', delayMs: 100 });
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: s3.endPoint,
      S3_PORT: String(s3.port),
      S3_USE_SSL: 'false',
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_BUCKET: s3.bucket,
      IMAGE_PROVIDER: 'gemini',
      GEMINI_API_KEY: 'fake-gemini-key',
      GEMINI_BASE_URL: fake.url,
      WORKER_CONCURRENCY: '4',
      GENERATION_ATTEMPTS: '3',
      RATE_LIMIT_PER_HOUR: '0',
      LOG_LEVEL: 'info',
    };
    const started = await Promise.all([
      startApi(env),
      startApi(env),
      startWorker(env),
      startWorker(env),
      runCli(['key', 'create', 'acme/pipeline', '--json'], env),
    ]);
    apis.push(started[0] as ApiProcess, started[1] as ApiProcess);
    workers.push(started[2] as ManagedProcess, started[3] as ManagedProcess);
    keyCli = started[4] as CliResult;
  });

  afterAll(async () => {
    await stopAll();
    await Promise.allSettled([fake?.stop(), s3?.close(), database?.drop()]);
  });

  it(`runs ${GENERATIONS} generations submitted to both APIs, each exactly once`, async () => {
    expect(keyCli.code, keyCli.stderr).toBe(0);
    const { key, projectId } = parseKey(keyCli.stdout);

    const submitted = await Promise.all(
      Array.from({ length: GENERATIONS }, async (_, i) => {
        const api = apis[i % 2]!;
        const r = await submitGeneration(api.url, key, { prompt: `pipeline image number ${i}`, aspectRatio: i % 3 ? '1:1' : '16:9' });
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        expect(r.body.success).toBe(true);
        expect(r.body.data.status).toBe('pending');
        return r.body.data.id;
      }),
    );
    expect(new Set(submitted).size).toBe(GENERATIONS);

    // Read each one from the other API than the one it was submitted to.
    const finals: GenerationData[] = await Promise.all(submitted.map((id, i) => waitForTerminal(apis[(i + 1) % 2]!.url, key, id)));

    for (const g of finals) {
      const workerLines = workers.flatMap((w, n) => w.logs.filter((l) => l.includes(g.id)).map((l) => `worker ${n}: ${l}`));
      expect({ id: g.id, status: g.status, error: g.error, attempts: g.attempts }, workerLines.join('\n')).toEqual({
        id: g.id,
        status: 'success',
        error: null,
        attempts: 1,
      });
      expect(g.outputImageId).toEqual(expect.any(String));
      expect(g.outputImage?.id).toBe(g.outputImageId);
    }
    expect(new Set(finals.map((g) => g.outputImageId)).size).toBe(GENERATIONS);

    // Exactly one image-model call per generation: nothing ran twice.
    const imageCalls = (await fake.requests()).filter((r) => r.model.toLowerCase().includes('image'));
    expect(imageCalls).toHaveLength(GENERATIONS);

    const { db } = database;
    const images = await db
      .selectFrom('images')
      .select(sql<string>`count(*)`.as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    expect(Number(images.n)).toBe(GENERATIONS);
    const allImages = await db.selectFrom('images').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    expect(Number(allImages.n)).toBe(GENERATIONS);
    const byStatus = await db
      .selectFrom('generations')
      .select(['status', sql<string>`count(*)`.as('n')])
      .groupBy('status')
      .execute();
    expect(byStatus.map((r) => ({ status: r.status, n: Number(r.n) }))).toEqual([{ status: 'success', n: GENERATIONS }]);

    // A public URL serves the stored PNG (from S3), without a key.
    const sample = finals[7]!;
    expect(sample.outputImage!.url).toMatch(new RegExp(`/cdn/acme/pipeline/img/${sample.outputImageId}$`));
    await fetchPng(sample.outputImage!.url);
    // ...from either API.
    const path = new URL(sample.outputImage!.url).pathname;
    await fetchPng(`${apis[0]!.url}${path}`);
    await fetchPng(`${apis[1]!.url}${path}`);
  });
});

describe('README flow: local provider and filesystem storage', () => {
  const dbName = `banatie_t_readme_${randomBytes(5).toString('hex')}`;
  let storageDir: string;
  let env: Env;

  beforeAll(async () => {
    storageDir = await mkdtemp(join(tmpdir(), 'banatie-e2e-fs-'));
    env = {
      DATABASE_URL: `${TEST_PG_URL}/${dbName}`,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      STORAGE_DRIVER: 'fs',
      STORAGE_DIR: storageDir,
      IMAGE_PROVIDER: 'local',
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    await stopAll();
    const admin = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    await rm(storageDir, { recursive: true, force: true });
  });

  it('migrate, create a key, submit with Prefer: wait=30, fetch the PNG', async () => {
    const migrate = await runCli(['migrate'], env);
    expect(migrate.code, migrate.stderr).toBe(0);
    // The key, the API and the worker come up side by side (process start-up dominates).
    const [cli, api] = await Promise.all([runCli(['key', 'create', 'demo/playground', '--json'], env), startApi(env), startWorker(env)]);
    expect(cli.code, cli.stderr).toBe(0);
    const { key } = parseKey(cli.stdout);

    const r = await submitGeneration(api.url, key, { prompt: 'a lighthouse at dawn', aspectRatio: '16:9' }, { prefer: 'wait=30' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.success).toBe(true);
    expect(r.body.data.status).toBe('success');
    expect(r.body.data.error).toBeNull();
    expect(r.body.data.outputImage?.url).toBe(`${api.url}/cdn/demo/playground/img/${r.body.data.outputImageId}`);

    const png = await fetchPng(r.body.data.outputImage!.url);
    // 16:9 from the local provider: wider than tall (IHDR width/height at bytes 16..23).
    expect(png.readUInt32BE(16)).toBeGreaterThan(png.readUInt32BE(20));
  });
});
