import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStorage, type S3StorageOptions } from '../src/index.js';
import { startS3rver } from '../../testing/src/s3.js';
import { objectStorageContract } from './object-storage.contract.js';

async function startServer(): Promise<{ options: S3StorageOptions; close(): Promise<void> }> {
  const { close, ...options } = await startS3rver();
  return { options, close };
}

objectStorageContract('s3 (s3rver)', async () => {
  const server = await startServer();
  return {
    create: () => new S3ObjectStorage(server.options),
    cleanup: () => server.close(),
  };
});

/** A port that was just free: nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  return address.port;
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, close };
}

describe('S3ObjectStorage', () => {
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it('ping rejects while the bucket is missing and resolves after init', async () => {
    const storage = new S3ObjectStorage({ ...server.options, bucket: 'ping-bucket' });

    await expect(storage.ping()).rejects.toMatchObject({ name: 'StorageCheckError', report: { bucket: 'ping-bucket', code: 'NoSuchBucket' } });
    await storage.init();
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  it('ping rejects when the server is unreachable', async () => {
    const port = await closedPort();
    const storage = new S3ObjectStorage({ ...server.options, port });

    await expect(storage.ping()).rejects.toMatchObject({ report: { endpoint: `http://127.0.0.1:${port}`, code: 'ECONNREFUSED' } });
    await expect(storage.init()).rejects.toMatchObject({ report: { code: 'ECONNREFUSED' } });
  });

  it('ping rejects instead of hanging when the server never answers', async () => {
    const silent = await silentServer();
    try {
      const storage = new S3ObjectStorage({ ...server.options, port: silent.port });
      await expect(storage.ping()).rejects.toMatchObject({ report: { code: 'ETIMEDOUT' } });
      // S3_TIMEOUT_MS bounds every operation, not only the readiness check.
      const bounded = new S3ObjectStorage({ ...server.options, port: silent.port, timeoutMs: 200 });
      await expect(bounded.put('k', Buffer.from('x'), 'text/plain')).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      await expect(bounded.stat('k')).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      await expect(bounded.init()).rejects.toMatchObject({ report: { code: 'ETIMEDOUT' } });
    } finally {
      await silent.close();
    }
  });

  it('wrong credentials: init and ping say which bucket, where, and the server\'s code; never the secret', async () => {
    const storage = new S3ObjectStorage({ ...server.options, accessKey: 'NOT-THE-KEY', secretKey: 'very-secret-value' });
    const failures = await Promise.all([storage.init().catch((e: unknown) => e), storage.ping().catch((e: unknown) => e)]);
    for (const failure of failures) {
      expect(failure).toMatchObject({ name: 'StorageCheckError', report: { bucket: 'banatie', code: 'AccessDenied' } });
      expect(JSON.stringify((failure as { report: unknown }).report) + String(failure)).not.toContain('very-secret-value');
    }
  });

  // s3rver cannot paginate listings (its continuation tokens use DES, which
  // Node 20's OpenSSL 3 lacks), so this stays below one 1000-key page.
  it('deletePrefix removes many objects spread over nested "directories"', async () => {
    const storage = new S3ObjectStorage({ ...server.options, bucket: 'bulk-bucket' });
    await storage.init();
    const keys = Array.from({ length: 120 }, (_, i) => `p1/variants/img1/${i % 7}/${i}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => storage.put(key, Buffer.from(key), 'text/plain')));
    }
    await storage.put('p1/img1', Buffer.from('kept'), 'image/png');

    await storage.deletePrefix('p1/variants/img1/');

    const remaining = await Promise.all(keys.map((key) => storage.stat(key)));
    expect(remaining.filter((stat) => stat !== null)).toHaveLength(0);
    expect(await storage.stat('p1/img1')).not.toBeNull();
  });
});
