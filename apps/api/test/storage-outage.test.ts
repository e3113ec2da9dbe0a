import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForTerminal, type Stack } from './harness.js';

/** An S3 server that can be stopped and started again on the same port and data. */
async function startRestartableS3(): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void>; dispose(): Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'banatie-s3-outage-'));
  let port = 0;
  let server: S3rver | null = null;
  const start = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
    port = (await server.run()).port;
  };
  const stop = async () => {
    await server?.close();
    server = null;
  };
  await start();
  return { get port() { return port; }, start, stop, dispose: async () => { await stop(); await rm(directory, { recursive: true, force: true }); } };
}

let s3: Awaited<ReturnType<typeof startRestartableS3>>;
let stack: Stack;

beforeAll(async () => {
  s3 = await startRestartableS3();
  stack = await startStack({
    provider: 'gemini',
    env: {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: '127.0.0.1',
      S3_PORT: String(s3.port),
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
      S3_BUCKET: 'banatie',
      GENERATION_ATTEMPTS: '8',
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await s3?.dispose();
});

describe('storage outage', () => {
  it('the job retries while storage is down, nothing half-written is visible, and it succeeds once storage is back', async () => {
    // Storage goes down before the worker gets to write.
    await s3.stop();
    const res = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/generations',
      headers: { 'x-api-key': stack.key.key },
      payload: { prompt: 'stored after the outage', autoEnhance: false },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().data.id;

    // Wait until a second attempt has started: the first one failed on storage and was retried.
    for (;;) {
      const g = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers: { 'x-api-key': stack.key.key } });
      if (g.json().data.attempts >= 2) {
        expect(g.json().data).toMatchObject({ status: 'processing', outputImageId: null, outputImage: null });
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await stack.db.selectFrom('images').select('id').execute()).toHaveLength(0);
    const ready = await stack.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.message).toContain('storage');

    await s3.start();
    const done = await waitForTerminal(stack, id);
    expect(done.status).toBe('success');
    const cdn = await stack.app.inject({ method: 'GET', url: new URL(done.outputImage.url).pathname });
    expect(cdn.statusCode).toBe(200);
    expect(cdn.headers['content-type']).toMatch(/^image\//);
    expect(Number(cdn.headers['content-length'] ?? cdn.rawPayload.length)).toBe(done.outputImage.fileSize);
    expect(cdn.rawPayload.length).toBe(done.outputImage.fileSize);
  });
});
