// Hot paths do only the work they must, asserted by counting SQL statements, and
// the one-statement submit stores exactly what the general submit path stores.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiKeyService, systemClock, type CreatedKey } from '@banatie/core';
import { TEST_REDIS_URL, createTestDatabase, testQueuePrefix, type TestDatabase } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecordingApi, type RecordingApi } from './sql-log.js';

let testDb: TestDatabase;
let storageDir: string;
let api: RecordingApi;
let key: CreatedKey;

beforeAll(async () => {
  testDb = await createTestDatabase();
  storageDir = await mkdtemp(join(tmpdir(), 'banatie-hotpaths-'));
  api = await startRecordingApi({
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: testQueuePrefix(),
    STORAGE_DIR: storageDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_HOUR: '0',
    READ_RATE_LIMIT_PER_MINUTE: '0',
    AUTH_FAILURES_PER_IP_PER_MINUTE: '0',
  });
  key = await apiKeyService.createProjectKey({ db: testDb.db, clock: systemClock }, { orgSlug: 'acme', projectSlug: 'site' });
});

afterAll(async () => {
  await api?.close();
  await testDb?.drop();
  await rm(storageDir, { recursive: true, force: true });
});

/** The key's `last_used_at` touch: at most once a minute per key, fire-and-forget, so it may land anywhere. */
const isKeyTouch = (statement: string) => statement.startsWith('update "api_keys"');

/** Statements sent while `fn` runs, after one warm-up request has cached the key. */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  await api.app.inject({ method: 'GET', url: '/api/v1/generations', headers: { 'x-api-key': key.key } });
  const from = api.statements.length;
  await fn();
  return api.statements.slice(from).filter((s) => !isKeyTouch(s));
}

const submit = (body: object, headers: Record<string, string> = {}) =>
  api.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': key.key, ...headers }, payload: body });

async function storedRow(id: string): Promise<Record<string, unknown>> {
  return (await testDb.db.selectFrom('generations').selectAll().where('id', '=', id).executeTakeFirstOrThrow()) as Record<string, unknown>;
}

describe('submit', () => {
  it('a plain submit (new flow) is one SQL statement', async () => {
    let status = 0;
    const sql = await statementsDuring(async () => {
      status = (await submit({ prompt: 'one round trip' })).statusCode;
    });
    expect(status).toBe(202);
    expect(sql).toHaveLength(1);
    // The flow and the generation are inserted by the procedure (migration 0014).
    expect(sql[0]).toMatch(/call banatie_submit_plain_generation/i);
  });

  it('stores exactly what the general path (with an Idempotency-Key) stores, project defaults included', async () => {
    await testDb.db
      .updateTable('projects')
      // Every project setting set, so a default the general path starts applying at submit shows up here.
      .set({ settings: JSON.stringify({ autoEnhanceDefault: false, defaultAspectRatio: '16:9', webhookUrl: 'https://hooks.example.com/banatie', stylePrompt: 'in ink' }) })
      .where('id', '=', key.projectId)
      .execute();
    const body = { prompt: 'same either way', alias: '@same', flowAlias: '@inflow', meta: { n: 1 }, enhancementOptions: { template: 'sticker' } };
    const plain = await submit(body);
    const general = await submit(body, { 'idempotency-key': 'general-path' });
    expect(plain.statusCode).toBe(202);
    expect(general.statusCode).toBe(202);
    const a = await storedRow(plain.json().data.id);
    const b = await storedRow(general.json().data.id);
    expect(a.auto_enhance).toBe(false);
    expect(a.aspect_ratio).toBe('16:9');
    expect(a.flow_id).not.toBeNull();
    expect(b.flow_id).not.toBeNull();
    const differing = ['id', 'flow_id', 'idempotency_key', 'request_hash', 'created_at', 'updated_at', 'deadline_at'];
    const strip = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => !differing.includes(k)));
    expect(strip(a)).toEqual(strip(b));
    // The second job queues behind the first: only their queue positions differ.
    const { id: _a, flowId: _fa, createdAt: _ca, updatedAt: _ua, queuePosition: _qa, ...plainDto } = plain.json().data;
    const { id: _b, flowId: _fb, createdAt: _cb, updatedAt: _ub, queuePosition: _qb, ...generalDto } = general.json().data;
    expect(plainDto).toEqual(generalDto);
  });

  it('flowId: null creates no flow', async () => {
    const before = await testDb.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const res = await submit({ prompt: 'no flow', flowId: null });
    expect(res.statusCode).toBe(202);
    expect(res.json().data.flowId).toBeNull();
    const after = await testDb.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});

describe('poll', () => {
  /** A finished generation with an output image, stored directly (no worker needed). */
  let n = 0;
  async function finishedGeneration(): Promise<string> {
    n++;
    const id = (await submit({ prompt: 'finished', flowId: null })).json().data.id as string;
    const image = await testDb.db
      .insertInto('images')
      .values({
        project_id: key.projectId,
        generation_id: id,
        source: 'generated',
        storage_key: `${key.projectId}/x`,
        mime_type: 'image/png',
        file_size: 1234,
        width: 64,
        height: 32,
        alias: `@polled${n}`,
        focal_point: JSON.stringify({ x: 0.25, y: 0.75 }),
        meta: JSON.stringify({ a: 1 }),
        etag: '"e"',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const at = new Date(Date.now() + 1000);
    await testDb.db
      .updateTable('generations')
      .set({ status: 'success', output_image_id: image.id, started_at: at, completed_at: at, processing_time_ms: 5 })
      .where('id', '=', id)
      .execute();
    return id;
  }

  it('reads a generation and its output image in one SQL statement', async () => {
    const id = await finishedGeneration();
    let body: any;
    const sql = await statementsDuring(async () => {
      body = (await api.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key } })).json();
    });
    expect(sql).toHaveLength(1);
    expect(body.data.outputImage).toMatchObject({ mimeType: 'image/png', width: 64, height: 32, focalPoint: { x: 0.25, y: 0.75 }, alias: '@polled1' });
  });

  it('shows the same object as the list (which reads images separately)', async () => {
    const id = await finishedGeneration();
    const one = await api.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key } });
    const list = await api.app.inject({ method: 'GET', url: '/api/v1/generations?limit=100', headers: { 'x-api-key': key.key } });
    const fromList = list.json().data.find((g: { id: string }) => g.id === id);
    expect(fromList.outputImage).not.toBeNull();
    expect(one.json().data).toEqual(fromList);
  });

  it('a generation without an output image polls with outputImage null', async () => {
    const id = (await submit({ prompt: 'pending', flowId: null })).json().data.id;
    const res = await api.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': key.key } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ id, status: 'pending', outputImage: null, outputImageId: null });
  });
});
