// Live URLs across processes: two API instances share one generation per cache
// key (Redis lock + generation channel), the per-IP limit, and the entries.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL, createTestDatabase, testQueuePrefix, type TestDatabase } from '@banatie/testing';
import {
  PNG_SIGNATURE,
  runCli,
  startApi,
  startFakeGeminiProcess,
  startWorker,
  stopAll,
  type ApiProcess,
  type Env,
  type FakeGeminiProcess,
} from './helpers/processes.js';

const CONCURRENT = 30;

describe('live URLs with two API processes', () => {
  let database: TestDatabase;
  let fake: FakeGeminiProcess;
  let storageDir: string;
  let env: Env;
  const apis: ApiProcess[] = [];
  let key: string;

  beforeAll(async () => {
    [database, fake, storageDir] = await Promise.all([createTestDatabase(), startFakeGeminiProcess(), mkdtemp(join(tmpdir(), 'banatie-live-e2e-'))]);
    // Slow enough that all requests arrive while the one generation runs.
    await fake.setDefault({ kind: 'image', delayMs: 1000 });
    env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: testQueuePrefix(),
      STORAGE_DRIVER: 'fs',
      STORAGE_DIR: storageDir,
      IMAGE_PROVIDER: 'gemini',
      GEMINI_API_KEY: 'fake-gemini-key',
      GEMINI_BASE_URL: fake.url,
      RATE_LIMIT_PER_HOUR: '0',
      LIVE_MISS_PER_IP_PER_HOUR: '4',
      LOG_LEVEL: 'info',
    };
    const cli = await runCli(['key', 'create', 'acme/live', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    key = JSON.parse(cli.stdout).key;
    const started = await Promise.all([startApi(env), startApi(env), startWorker(env)]);
    apis.push(started[0] as ApiProcess, started[1] as ApiProcess);
  });

  afterAll(async () => {
    await stopAll();
    await Promise.allSettled([fake?.stop(), database?.drop(), storageDir && rm(storageDir, { recursive: true, force: true })]);
  });

  const liveUrl = (api: ApiProcess, prompt: string) => `${api.url}/cdn/acme/live/live/hero?prompt=${encodeURIComponent(prompt)}&aspectRatio=16:9`;

  async function imageCalls(): Promise<number> {
    return (await fake.requests()).filter((r) => r.model.toLowerCase().includes('image')).length;
  }

  it(`${CONCURRENT} concurrent identical MISSes on both APIs make one generation; all get identical bytes`, async () => {
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const res = await fetch(liveUrl(apis[i % 2]!, 'a lighthouse at dawn'));
        return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const r of responses) {
      expect(r.status, r.body.toString()).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(r.body.equals(responses[0]!.body)).toBe(true);
      expect(r.headers.get('x-image-id')).toBe(responses[0]!.headers.get('x-image-id'));
    }
    expect(await imageCalls()).toBe(1);
    const generations = await database.db.selectFrom('generations').select(['id', 'live_scope_id']).execute();
    expect(generations).toHaveLength(1);
    expect(generations[0]!.live_scope_id).toEqual(expect.any(String));

    // Both instances now answer HIT from the cache, with no new generation.
    for (const api of apis) {
      const hit = await fetch(liveUrl(api, 'a lighthouse at dawn'));
      expect(hit.headers.get('x-cache-status')).toBe('HIT');
      expect(Buffer.from(await hit.arrayBuffer()).equals(responses[0]!.body)).toBe(true);
    }
    expect(await imageCalls()).toBe(1);
  });

  it('when the API that started a generation dies, another instance delivers it', async () => {
    await fake.setDefault({ kind: 'image', delayMs: 1500 });
    const callsBefore = await imageCalls();
    const doomed = await startApi(env);
    const survivor = apis[1]!;
    const url = (api: ApiProcess) => `${api.url}/cdn/acme/live/live/hero?prompt=${encodeURIComponent('survives its api')}`;
    let answered = false;
    const abandoned = fetch(url(doomed)).then(
      () => (answered = true),
      () => null,
    );
    // Wait for the submitted generation, then kill the API holding the request.
    let row: { id: string } | undefined;
    while (!row) {
      expect(answered, 'the first request must still be waiting').toBe(false);
      row = await database.db.selectFrom('generations').select('id').where('original_prompt', '=', 'survives its api').executeTakeFirst();
      if (!row) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await doomed.stop('SIGKILL');
    await abandoned;

    const res = await fetch(url(survivor));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('x-generation-id')).toBe(row.id);
    expect(await imageCalls()).toBe(callsBefore + 1);
  });

  it('the per-IP miss limit is shared by the two instances', async () => {
    await fake.setDefault({ kind: 'image' });
    expect((await fetch(liveUrl(apis[0]!, 'ip one'))).status).toBe(200);
    expect((await fetch(liveUrl(apis[1]!, 'ip two'))).status).toBe(200);
    const refused = await fetch(liveUrl(apis[0]!, 'ip three'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { reason: 'IP_LIMIT' } });
    const again = await fetch(liveUrl(apis[1]!, 'ip three'));
    expect(again.status).toBe(429);
    await again.arrayBuffer();
  });
});
