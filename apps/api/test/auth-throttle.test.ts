import { apiKeyService, systemClock } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { clientSubnet } from '../src/lib/client-subnet.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

// SPEC §11: failed authentication throttled per client address, across API instances.
let stack: Stack;
let second: { app: FastifyInstance; close(): Promise<void> };
let master: string;
beforeAll(async () => {
  stack = await startStack({ worker: false, env: { AUTH_FAILURES_PER_IP_PER_MINUTE: '30', READ_RATE_LIMIT_PER_MINUTE: '5' } });
  const deps = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
  const app = await buildApp(deps);
  second = { app, close: async () => { await app.close(); await deps.close(); } };
  master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
});
afterAll(async () => {
  await second?.close();
  await stack?.close();
});

const guess = (i: number) => `bnt_${String(i).padStart(40, 'x')}`;
const request = (app: FastifyInstance, from: string, key: string, url = '/api/v1/generations') =>
  app.inject({ method: 'GET', url, headers: { 'x-api-key': key }, remoteAddress: from });
const submit = (app: FastifyInstance, from: string, key: string) =>
  app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': key }, payload: { prompt: 'a key guessed right' }, remoteAddress: from });

function expectThrottled(res: Awaited<ReturnType<typeof request>>): void {
  expect(res.statusCode).toBe(429);
  expect(res.json().error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { reason: 'AUTH_FAILURES' } });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('failed authentication is throttled per client address (SPEC §11)', () => {
  it('a brute force: 30 wrong keys are 401, then even the right key is 429 on every instance; other addresses are unaffected', async () => {
    const attacker = '203.0.113.9';
    const apps = [stack.app, second.app];
    for (let i = 0; i < 30; i++) expect((await request(apps[i % 2]!, attacker, guess(i))).statusCode).toBe(401);

    expectThrottled(await request(stack.app, attacker, guess(99)));
    expectThrottled(await request(stack.app, attacker, stack.key.key));
    expectThrottled(await request(second.app, attacker, stack.key.key));
    expectThrottled(await submit(second.app, attacker, stack.key.key));
    expectThrottled(await request(stack.app, attacker, master, '/api/admin/keys?orgSlug=acme&projectSlug=site'));
    expect(await stack.db.selectFrom('generations').select('id').execute()).toHaveLength(0);

    expect((await request(stack.app, '203.0.113.10', stack.key.key)).statusCode).toBe(200);
    expect((await request(second.app, '203.0.113.10', guess(1))).statusCode).toBe(401);
  });

  it('IPv6 clients count per /64', async () => {
    for (let i = 0; i < 30; i++) expect((await request(second.app, `2001:db8:1:2::${(i + 1).toString(16)}`, guess(i))).statusCode).toBe(401);
    expectThrottled(await request(stack.app, '2001:db8:1:2:ffff:ffff:ffff:ffff', stack.key.key));
    expect((await request(stack.app, '2001:db8:1:3::1', stack.key.key)).statusCode).toBe(200);
  });

  it('failures on the admin API count too, and admin routes have the key buckets of /api/v1', async () => {
    const from = '198.51.100.20';
    const admin = (key: string) => request(stack.app, from, key, '/api/admin/keys?orgSlug=acme&projectSlug=site');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await admin(master)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await admin(master);
    expect(limited.headers['x-ratelimit-bucket']).toBe('read');
    expect(limited.json().error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { bucket: 'read' } });

    for (let i = 0; i < 30; i++) expect((await admin(stack.key.key)).statusCode).toBe(401); // a project key is an auth failure here
    expectThrottled(await request(stack.app, from, stack.key.key));
  });
});

describe('clientSubnet', () => {
  it('keeps IPv4, maps IPv4-mapped IPv6, groups IPv6 by /64', () => {
    expect(clientSubnet('192.0.2.1')).toBe('192.0.2.1');
    expect(clientSubnet('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientSubnet('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(clientSubnet('2001:0DB8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(clientSubnet('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientSubnet('::1')).toBe('0:0:0:0::/64');
    expect(clientSubnet('1::2:3:4:5:1.2.3.4')).toBe('1:0:2:3::/64');
  });
});
