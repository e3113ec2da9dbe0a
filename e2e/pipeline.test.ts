// The whole pipeline as separate processes: API processes, worker processes,
// the CLI, PostgreSQL, Redis, S3 (s3rver) or the filesystem, and Gemini (the
// fake server process) or the built-in local provider.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_SIGNATURE, runCli, submitGeneration, waitForTerminal, type GenerationData } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const GENERATIONS = 50;

const KEY_PATTERN = /^bnt_[0-9A-Za-z]{40}$/;

function parseKey(stdout: string): { key: string; projectId: string } {
  const created = JSON.parse(stdout) as { key: string; projectId: string };
  expect(created.key).toMatch(KEY_PATTERN);
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
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      storage: 's3',
      provider: 'gemini',
      apis: 2,
      workers: 2,
      key: 'acme/pipeline',
      env: { WORKER_CONCURRENCY: '4', GENERATION_ATTEMPTS: '3' },
    });
    // A small delay per image so the jobs overlap and spread over both workers.
    await stack.fake!.setDefault({ kind: 'image', delayMs: 100 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it(`runs ${GENERATIONS} generations submitted to both APIs, each exactly once`, async () => {
    const { apis, workers, database } = stack;
    const fake = stack.fake!;
    const { key, projectId } = stack.key;
    expect(key).toMatch(KEY_PATTERN);

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
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ database: 'missing', key: false, apis: 0, workers: 0 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('migrate, create a key, submit with Prefer: wait=30, fetch the PNG', async () => {
    const migrate = await runCli(['migrate'], stack.env);
    expect(migrate.code, migrate.stderr).toBe(0);
    // The key, the API and the worker come up side by side (process start-up dominates).
    const [cli, api] = await Promise.all([runCli(['key', 'create', 'demo/playground', '--json'], stack.env), stack.startApi(), stack.startWorker()]);
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
