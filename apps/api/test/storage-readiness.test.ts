import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

// Issue 19: storage that cannot be used as configured is reported by /ready (bucket, endpoint, the server's
// error code; never the secret) while /health keeps answering.
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function readiness(env: Record<string, string>) {
  stack = await startStack({ storage: 's3', worker: false, env });
  const ready = await stack.app.inject({ method: 'GET', url: '/ready' });
  const health = await stack.app.inject({ method: 'GET', url: '/health' });
  return { ready, health, port: stack.config.storage.driver === 's3' ? stack.config.storage.s3.port : 0 };
}

describe('/ready names what is wrong with the storage', () => {
  it('wrong credentials', async () => {
    const { ready, health, port } = await readiness({ S3_ACCESS_KEY: 'NOT-A-KEY', S3_SECRET_KEY: 'do-not-print-me' });
    expect(health.statusCode).toBe(200);
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { postgres: 'ok', redis: 'ok', storage: { bucket: 'banatie', endpoint: `http://127.0.0.1:${port}`, code: 'AccessDenied' } },
    });
    expect(ready.json().error.message).toBe(`Not ready: storage unavailable (bucket banatie at http://127.0.0.1:${port}: AccessDenied)`);
    expect(ready.body).not.toContain('do-not-print-me');
  });

  it('an endpoint that does not answer', async () => {
    const { ready, health } = await readiness({ S3_PORT: '1' });
    expect(health.statusCode).toBe(200);
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.details).toEqual({ postgres: 'ok', redis: 'ok', storage: { bucket: 'banatie', endpoint: 'http://127.0.0.1:1', code: 'ECONNREFUSED' } });
  });
});
