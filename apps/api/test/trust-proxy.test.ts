import type { TrustProxy } from '@banatie/config';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

/** TRUST_PROXY (SPEC §2, §11): the client address is the one the trusted proxy saw, whatever the client wrote to its left. */

let stack: Stack;
const opened: Array<() => Promise<void>> = [];

/** An API of the stack with this TRUST_PROXY and a test route that answers the client address Fastify settled on. */
async function apiWith(trustProxy: TrustProxy): Promise<FastifyInstance> {
  const deps = await createAppDeps({ ...stack.config, trustProxy }, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  app.get('/test/client-ip', async (request) => ({ ip: request.ip }));
  await app.ready();
  opened.push(async () => {
    await app.close();
    await deps.close();
  });
  return app;
}

async function clientIp(app: FastifyInstance, peer: string, xff?: string): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/test/client-ip', remoteAddress: peer, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().ip;
}

beforeAll(async () => {
  stack = await startStack({ env: { LIVE_MISS_PER_IP_PER_HOUR: '1' } });
});
afterAll(async () => {
  for (const close of opened) await close();
  await stack?.close();
});

describe('TRUST_PROXY', () => {
  it('false: X-Forwarded-For is ignored', async () => {
    const app = await apiWith(false);
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6')).toBe('10.0.0.5');
  });

  it('1: the address the one proxy saw, whatever the client wrote to the left of it', async () => {
    const app = await apiWith(1);
    expect(await clientIp(app, '10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    expect(await clientIp(app, '10.0.0.5', '1.1.1.1, 6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    expect(await clientIp(app, '10.0.0.5')).toBe('10.0.0.5');
  });

  it('2: two proxies in front', async () => {
    const app = await apiWith(2);
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6, 203.0.113.7, 10.1.1.1')).toBe('203.0.113.7');
  });

  it('CIDRs: only hops from the listed proxies are believed', async () => {
    const app = await apiWith(['10.0.0.0/8', 'fd00::/8']);
    // From a listed proxy: its right-most untrusted hop.
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    // A chain of listed proxies is walked through.
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6, 203.0.113.7, 10.2.2.2')).toBe('203.0.113.7');
    expect(await clientIp(app, 'fd00::1', '203.0.113.9')).toBe('203.0.113.9');
    // A client connecting directly cannot claim any address.
    expect(await clientIp(app, '198.51.100.1', '6.6.6.6')).toBe('198.51.100.1');
    expect(await clientIp(app, '198.51.100.1', '10.0.0.9')).toBe('198.51.100.1');
  });

  it('true: every hop is believed (accepted, with the start-up warning tested in packages/config)', async () => {
    const app = await apiWith(true);
    expect(await clientIp(app, '10.0.0.5', '6.6.6.6, 203.0.113.7')).toBe('6.6.6.6');
  });

  it('with 1, a spoofed X-Forwarded-For does not escape the per-IP live limit', async () => {
    const app = await apiWith(1);
    const live = (prompt: string) => `/cdn/acme/site/live/proxied?prompt=${encodeURIComponent(prompt)}`;
    const first = await app.inject({ method: 'GET', url: live('first'), remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '6.6.6.1, 203.0.113.50' } });
    expect(first.statusCode, first.body).toBe(200);
    const spoofed = await app.inject({ method: 'GET', url: live('second'), remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '6.6.6.2, 203.0.113.50' } });
    expect(spoofed.statusCode, spoofed.body).toBe(429);
    const other = await app.inject({ method: 'GET', url: live('second'), remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '6.6.6.2, 203.0.113.51' } });
    expect(other.statusCode, other.body).toBe(200);
  });
});
