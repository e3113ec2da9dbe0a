import { loadConfig } from '@banatie/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStorage } from '../src/index.js';
import { startS3rver, type S3rverHandle } from '../../testing/src/s3.js';

// S3_ENDPOINT as a URL or as a bare host (issue 19), through the configuration to a real S3 HTTP server.
let server: S3rverHandle;
beforeAll(async () => {
  server = await startS3rver();
});
afterAll(async () => {
  await server?.close();
});

const configured = (env: Record<string, string>) =>
  loadConfig({ S3_ACCESS_KEY: server.accessKey, S3_SECRET_KEY: server.secretKey, S3_BUCKET: server.bucket, ...env }).storage;

describe('S3_ENDPOINT forms against a real S3 server', () => {
  const forms: Array<[string, (port: number) => Record<string, string>]> = [
    ['a URL', (port) => ({ S3_ENDPOINT: `http://127.0.0.1:${port}` })],
    ['a URL with a trailing slash', (port) => ({ S3_ENDPOINT: `http://127.0.0.1:${port}/` })],
    ['a bare host with S3_PORT', (port) => ({ S3_ENDPOINT: '127.0.0.1', S3_PORT: String(port) })],
    ['host:port', (port) => ({ S3_ENDPOINT: `127.0.0.1:${port}` })],
  ];

  for (const [name, envFor] of forms) {
    it(`stores and reads back with ${name}`, async () => {
      const env = envFor(server.port);
      const storage = configured(env);
      expect(storage).toMatchObject({ driver: 's3', s3: { endPoint: '127.0.0.1', port: server.port, useSSL: false, pathStyle: true } });
      const s3 = createObjectStorage(storage);
      await s3.init();
      const key = `forms/${name.replace(/\W+/g, '-')}`;
      await s3.put(key, Buffer.from(name), 'text/plain');
      expect((await s3.get(key)).toString()).toBe(name);
      await expect(s3.ping()).resolves.toBeUndefined();
    });
  }
});
