// The worker's hot path does only the work it must: a plain generation is two
// SQL statements (the guarded `processing` update, which also reads the
// project's settings, and the one-statement store), and no webhook job is
// queued when no webhook target is known.
import { createStatusNotifier, processGeneration, systemClock, webhookMessageId, type ProcessorDeps } from '@banatie/core';
import type { Database } from '@banatie/db';
import { createLogger } from '@banatie/logger';
import { LocalImageProvider } from '@banatie/providers';
import { createGenerationQueue, createJobQueue, createRedis, createStatusBroadcast, createWebhookQueue } from '@banatie/queue';
import { createObjectStorage } from '@banatie/storage';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath } from './image-helpers.js';

let stack: Stack;
let recording: Kysely<Database>;
let statements: string[] = [];
let redis: ReturnType<typeof createRedis>;
let webhooks: ReturnType<typeof createWebhookQueue>;
let generations: ReturnType<typeof createGenerationQueue>;
let deps: ProcessorDeps;

beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local', worker: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  const pool = new pg.Pool({ connectionString: stack.config.databaseUrl, max: 4 });
  pool.on('error', () => undefined);
  recording = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: (event) => void statements.push(event.query.sql) });
  redis = createRedis(stack.config, 'producer');
  webhooks = createWebhookQueue(redis, stack.config.queuePrefix, 1000);
  generations = createGenerationQueue(redis, stack.config.queuePrefix, 1);
  deps = {
    db: recording,
    storage: createObjectStorage(stack.config.storage),
    imageProvider: new LocalImageProvider(),
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    onStatusChange: createStatusNotifier({
      broadcast: createStatusBroadcast(redis, stack.config.queuePrefix),
      jobs: createJobQueue({ generations, webhooks }),
    }),
  };
});

afterAll(async () => {
  await webhooks?.close();
  await generations?.close();
  redis?.disconnect();
  await recording?.destroy();
  await stack?.close();
});

async function submitAndProcess(body: Record<string, unknown>): Promise<{ id: string; sql: string[] }> {
  const res = await call(stack, 'POST', '/api/v1/generations', { autoEnhance: false, ...body });
  expect(res.statusCode).toBe(202);
  const id = res.json().data.id as string;
  statements = [];
  expect(await processGeneration(deps, { generationId: id, run: 0, isFinalAttempt: true })).toBe('succeeded');
  return { id, sql: statements };
}

const succeededWebhookJob = (generationId: string) => webhooks.getJob(webhookMessageId({ generationId, run: 0, event: 'generation.succeeded' }));

describe('worker hot path', () => {
  it('a plain generation is two SQL statements and is stored and served as before', async () => {
    const { id, sql } = await submitAndProcess({ prompt: 'two statements' });
    expect(sql).toHaveLength(2);
    expect(sql[0]).toMatch(/^update "generations"/i);
    expect(sql[0]).toMatch(/"projects"/);
    expect(sql[1]).toMatch(/INSERT INTO images/);

    const g = (await call(stack, 'GET', `/api/v1/generations/${id}`)).json().data;
    expect(g).toMatchObject({ status: 'success', prompt: 'two statements', outputImage: { mimeType: 'image/png', version: 1 } });
    const served = await stack.app.inject({ method: 'GET', url: cdnPath(g.outputImage.url) });
    expect(served.statusCode).toBe(200);
    expect(served.rawPayload.length).toBe(g.outputImage.fileSize);
  });

  it('the project style prompt read with the processing update is applied', async () => {
    expect((await call(stack, 'PUT', '/api/v1/project', { stylePrompt: 'in pencil' })).statusCode).toBe(200);
    try {
      const { id } = await submitAndProcess({ prompt: 'styled' });
      expect((await call(stack, 'GET', `/api/v1/generations/${id}`)).json().data.prompt).toBe('styled\n\nin pencil');
    } finally {
      await call(stack, 'PUT', '/api/v1/project', { stylePrompt: null });
    }
  });

  it('queues no webhook job when neither the generation nor the project has a URL', async () => {
    const { id } = await submitAndProcess({ prompt: 'nobody listens' });
    expect(await succeededWebhookJob(id)).toBeUndefined();
  });

  it('queues the webhook job when the generation has a URL', async () => {
    const { id } = await submitAndProcess({ prompt: 'someone listens', webhookUrl: 'http://127.0.0.1:9/hook' });
    expect(await succeededWebhookJob(id)).toBeDefined();
  });

  it('queues the webhook job when the project has a default URL', async () => {
    expect((await call(stack, 'PUT', '/api/v1/project', { webhookUrl: 'http://127.0.0.1:9/project-hook' })).statusCode).toBe(200);
    try {
      const { id } = await submitAndProcess({ prompt: 'the project listens' });
      expect(await succeededWebhookJob(id)).toBeDefined();
    } finally {
      await call(stack, 'PUT', '/api/v1/project', { webhookUrl: null });
    }
  });

  it('a generation with an alias goes through the general store and takes the alias', async () => {
    const { id, sql } = await submitAndProcess({ prompt: 'aliased', alias: '@hot' });
    expect(sql.length).toBeGreaterThan(2);
    const g = (await call(stack, 'GET', `/api/v1/generations/${id}`)).json().data;
    expect(g.outputImage.alias).toBe('@hot');
  });
});
