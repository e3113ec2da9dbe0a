// METRICS_PORT (SPEC §11): when set, the API serves /metrics on that port only;
// the public port answers 404 there. Unset, /metrics stays on the public port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@banatie/testing';
import { startStack, type Stack } from './harness.js';

let separate: Stack;
let plain: Stack;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  [separate, plain] = await Promise.all([
    startStack({ worker: false, env: { HOST: '127.0.0.1', METRICS_PORT: String(metricsPort) } }),
    startStack({ worker: false }),
  ]);
});

afterAll(async () => {
  await Promise.all([separate?.close(), plain?.close()]);
});

describe('METRICS_PORT', () => {
  it('set: /metrics is served on that port, with the public port’s requests counted, and is 404 on the public port', async () => {
    const publicMetrics = await separate.app.inject({ method: 'GET', url: '/metrics' });
    expect(publicMetrics.statusCode).toBe(404);
    expect(publicMetrics.json().error.code).toBe('NOT_FOUND');
    expect(publicMetrics.body).not.toContain('banatie_');

    expect((await separate.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/banatie_http_requests_total\{method="GET",route="\/health",status="200"\} 1/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('set: the metrics listener serves nothing else (no API routes there)', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/health`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  it('unset: /metrics is on the public port', async () => {
    const res = await plain.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('banatie_http_requests_total');
  });

  it('the metrics listener closes with the app', async () => {
    await separate.close();
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
    separate = undefined as unknown as Stack;
  });
});
