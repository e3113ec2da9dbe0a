import { signLiveUrl } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

const LIMIT_PER_IP = 3;
let stack: Stack;
let ipCounter = 0;
/** A fresh client address per test, so the per-IP limit only bites where a test wants it. */
const freshIp = () => `10.1.0.${++ipCounter}`;

async function scope(slug: string, settings: Record<string, unknown>): Promise<void> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/live/scopes', headers: { 'x-api-key': stack.key.key }, payload: { slug, ...settings } });
  expect(res.statusCode, res.body).toBe(201);
}

async function updateScope(slug: string, settings: Record<string, unknown>): Promise<void> {
  const res = await stack.app.inject({ method: 'PUT', url: `/api/v1/live/scopes/${slug}`, headers: { 'x-api-key': stack.key.key }, payload: settings });
  expect(res.statusCode, res.body).toBe(200);
}

async function generationCount(): Promise<number> {
  const row = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

function get(url: string, opts: { ip?: string; headers?: Record<string, string>; app?: FastifyInstance } = {}) {
  return (opts.app ?? stack.app).inject({ method: 'GET', url, remoteAddress: opts.ip ?? freshIp(), headers: opts.headers });
}

/** The fixed public message of each refusal (the body carries no details, SPEC §11). */
const REFUSAL_MESSAGES: Record<string, string> = {
  SCOPE_CLOSED: 'This live scope does not create new images',
  SCOPE_LIMIT_REACHED: 'This live scope has created all the new images allowed',
  ORIGIN_NOT_ALLOWED: 'This page may not create new images in this live scope',
  SIGNATURE_REQUIRED: 'This live scope requires a signed URL',
  SIGNATURE_INVALID: 'Invalid live URL signature',
  SIGNATURE_EXPIRED: 'This signed live URL has expired',
  IP_LIMIT: 'Too many new live images from this address; retry after Retry-After seconds',
};

/** The request is refused with exactly this status, code and reason's message, no-store, only the request id besides, and nothing is generated. */
async function expectRefused(url: string, status: number, reason: string, opts: Parameters<typeof get>[1] = {}) {
  const before = await generationCount();
  const res = await get(url, opts);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json()).toEqual({
    success: false,
    error: { code: status === 403 ? 'FORBIDDEN' : 'RATE_LIMIT_EXCEEDED', message: REFUSAL_MESSAGES[reason], requestId: res.headers['x-request-id'] },
  });
  expect(await generationCount()).toBe(before);
  return res;
}

async function expectServed(url: string, cache: 'HIT' | 'MISS', opts: Parameters<typeof get>[1] = {}) {
  const res = await get(url, opts);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['x-cache-status']).toBe(cache);
  return res;
}

const live = (slug: string, prompt: string) => `/cdn/acme/site/live/${slug}?prompt=${encodeURIComponent(prompt)}`;

beforeAll(async () => {
  stack = await startStack({ env: { LIVE_MISS_PER_IP_PER_HOUR: String(LIMIT_PER_IP) } });
});
afterAll(async () => {
  await stack?.close();
});

describe('1. scope closed', () => {
  it('refuses new prompts with 403 SCOPE_CLOSED and still serves HITs', async () => {
    await scope('closing', {});
    await expectServed(live('closing', 'made before closing'), 'MISS');
    await updateScope('closing', { allowNewGenerations: false });
    await expectRefused(live('closing', 'made after closing'), 403, 'SCOPE_CLOSED');
    await expectServed(live('closing', 'made before closing'), 'HIT');
    await updateScope('closing', { allowNewGenerations: true });
    await expectServed(live('closing', 'made after closing'), 'MISS');
  });
});

describe('2. scope budget', () => {
  it('allows exactly newGenerationsLimit generations; limit+1 is 403 SCOPE_LIMIT_REACHED; HITs go on', async () => {
    await scope('budget', { newGenerationsLimit: 2 });
    await expectServed(live('budget', 'one'), 'MISS');
    await expectServed(live('budget', 'two'), 'MISS');
    await expectRefused(live('budget', 'three'), 403, 'SCOPE_LIMIT_REACHED');
    await expectServed(live('budget', 'one'), 'HIT');
    const read = await stack.app.inject({ method: 'GET', url: '/api/v1/live/scopes/budget', headers: { 'x-api-key': stack.key.key } });
    expect(read.json().data).toMatchObject({ currentGenerations: 2, newGenerationsLimit: 2 });
  });

  it('concurrent different MISSes never overspend the budget', async () => {
    await scope('race', { newGenerationsLimit: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => get(live('race', `racing prompt ${i}`))));
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3);
    for (const r of results.filter((x) => x.statusCode !== 200)) expect(r.json().error.message).toBe(REFUSAL_MESSAGES.SCOPE_LIMIT_REACHED);
    const row = await stack.db.selectFrom('live_scopes').select('current_generations').where('slug', '=', 'race').executeTakeFirstOrThrow();
    expect(row.current_generations).toBe(3);
  });

  it('auto-created scopes get the defaults (limit 30)', async () => {
    await expectServed(live('brand-new', 'auto scope'), 'MISS');
    const read = await stack.app.inject({ method: 'GET', url: '/api/v1/live/scopes/brand-new', headers: { 'x-api-key': stack.key.key } });
    expect(read.json().data).toMatchObject({ allowNewGenerations: true, newGenerationsLimit: 30, allowedOrigins: [], requireSignature: false, currentGenerations: 1 });
  });
});

describe('3. allowed origins', () => {
  it('needs a matching Origin or Referer for a MISS; HITs are served to anyone', async () => {
    await scope('origins', { allowedOrigins: ['https://good.example', 'https://*.partner.example'] });
    await expectRefused(live('origins', 'no origin'), 403, 'ORIGIN_NOT_ALLOWED');
    await expectRefused(live('origins', 'bad origin'), 403, 'ORIGIN_NOT_ALLOWED', { headers: { origin: 'https://evil.example' } });
    await expectRefused(live('origins', 'lookalike'), 403, 'ORIGIN_NOT_ALLOWED', { headers: { referer: 'https://good.example.evil.example/page' } });
    await expectRefused(live('origins', 'wrong scheme'), 403, 'ORIGIN_NOT_ALLOWED', { headers: { origin: 'http://good.example' } });
    await expectServed(live('origins', 'by referer'), 'MISS', { headers: { referer: 'https://good.example/blog/post?x=1' } });
    await expectServed(live('origins', 'by origin'), 'MISS', { headers: { origin: 'https://good.example' } });
    await expectServed(live('origins', 'by wildcard'), 'MISS', { headers: { referer: 'https://cdn.partner.example/' } });
    await expectServed(live('origins', 'by referer'), 'HIT');
  });
});

describe('4. signatures', () => {
  let secret: string;
  beforeAll(async () => {
    await scope('signed', { requireSignature: true });
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } });
    secret = project.json().data.liveSigningSecret;
    expect(secret).toMatch(/^lss_/);
  });

  it('refuses missing, forged, tampered and expired signatures', async () => {
    await expectRefused(live('signed', 'unsigned'), 403, 'SIGNATURE_REQUIRED');
    await expectRefused(`${live('signed', 'forged')}&sig=${'A'.repeat(43)}`, 403, 'SIGNATURE_INVALID');
    const other = signLiveUrl(`http://cdn.test${live('signed', 'original')}`, secret);
    await expectRefused(other.replace('original', 'tampered').replace('http://cdn.test', ''), 403, 'SIGNATURE_INVALID');
    const wrongSecret = signLiveUrl(`http://cdn.test${live('signed', 'wrong secret')}`, 'lss_not-the-secret');
    await expectRefused(wrongSecret.replace('http://cdn.test', ''), 403, 'SIGNATURE_INVALID');
    const expired = signLiveUrl(`http://cdn.test${live('signed', 'expired')}`, secret, { expiresAt: Math.floor(Date.now() / 1000) - 10 });
    await expectRefused(expired.replace('http://cdn.test', ''), 403, 'SIGNATURE_EXPIRED');
    // exp is covered by the signature: extending it breaks the signature.
    await expectRefused(expired.replace(/exp=\d+/, `exp=${Math.floor(Date.now() / 1000) + 3600}`).replace('http://cdn.test', ''), 403, 'SIGNATURE_INVALID');
  });

  it('accepts URLs from POST /api/v1/live/sign and from the exported helper; HITs need no signature', async () => {
    const signed = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/live/sign',
      headers: { 'x-api-key': stack.key.key },
      payload: { scope: 'signed', prompt: 'a signed lighthouse', aspectRatio: '16:9', autoEnhance: false, expiresAt: Math.floor(Date.now() / 1000) + 600 },
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const signedUrl = new URL(signed.json().data.url);
    expect(signedUrl.origin).toBe('http://cdn.test');
    expect(signedUrl.pathname).toBe('/cdn/acme/site/live/signed');
    expect(signedUrl.searchParams.get('sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expectServed(signedUrl.pathname + signedUrl.search, 'MISS');
    await expectServed('/cdn/acme/site/live/signed?prompt=a%20signed%20lighthouse&aspectRatio=16:9&autoEnhance=false', 'HIT');

    const helper = signLiveUrl(`http://cdn.test${live('signed', 'helper signed')}&template=comic`, secret);
    await expectServed(helper.replace('http://cdn.test', ''), 'MISS');

    const past = await stack.app.inject({ method: 'POST', url: '/api/v1/live/sign', headers: { 'x-api-key': stack.key.key }, payload: { scope: 'signed', prompt: 'x', expiresAt: 1000 } });
    expect(past.statusCode).toBe(400);
    const badScope = await stack.app.inject({ method: 'POST', url: '/api/v1/live/sign', headers: { 'x-api-key': stack.key.key }, payload: { scope: 'no spaces', prompt: 'x' } });
    expect(badScope.statusCode).toBe(400);
  });

  it('a secret rotated with no grace period invalidates URLs signed with the old one at once', async () => {
    const before = signLiveUrl(`http://cdn.test${live('signed', 'before rotation')}`, secret);
    // With a grace period the old URLs keep working until it ends: live-secret-rotation.test.ts.
    const rotated = await stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: { 'x-api-key': stack.key.key }, payload: { secret: 'live', graceSeconds: 0 } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    await expectRefused(before.replace('http://cdn.test', ''), 403, 'SIGNATURE_INVALID');
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } });
    secret = project.json().data.liveSigningSecret;
    await expectServed(signLiveUrl(`http://cdn.test${live('signed', 'before rotation')}`, secret).replace('http://cdn.test', ''), 'MISS');
  });
});

describe('5. per-IP limit', () => {
  it(`allows ${LIMIT_PER_IP} misses per address per hour, shared by API instances; limit+1 is 429; HITs go on`, async () => {
    const second = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app2 = await buildApp(second);
    try {
      const ip = '10.2.0.1';
      await expectServed(live('ip', 'ip one'), 'MISS', { ip });
      await expectServed(live('ip', 'ip two'), 'MISS', { ip, app: app2 });
      // X-Forwarded-For is ignored without TRUST_PROXY: still the same client.
      await expectServed(live('ip', 'ip three'), 'MISS', { ip, headers: { 'x-forwarded-for': '203.0.113.9' } });
      const refused = await expectRefused(live('ip', 'ip four'), 429, 'IP_LIMIT', { ip, app: app2 });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
      await expectRefused(live('ip', 'ip four'), 429, 'IP_LIMIT', { ip, headers: { 'x-forwarded-for': '203.0.113.10' } });
      await expectServed(live('ip', 'ip one'), 'HIT', { ip, app: app2 });
      await expectServed(live('ip', 'ip four'), 'MISS', { ip: '10.2.0.2' });
    } finally {
      await app2.close();
      await second.close();
    }
  });

  it('with TRUST_PROXY the client address comes from X-Forwarded-For', async () => {
    const proxied = await createAppDeps({ ...stack.config, trustProxy: true }, createLogger({ level: 'silent' }));
    const app2 = await buildApp(proxied);
    try {
      const proxy = '10.3.0.1';
      for (let i = 0; i < LIMIT_PER_IP; i++) {
        await expectServed(live('xff', `xff ${i}`), 'MISS', { ip: proxy, app: app2, headers: { 'x-forwarded-for': '198.51.100.1' } });
      }
      await expectRefused(live('xff', 'xff over'), 429, 'IP_LIMIT', { ip: proxy, app: app2, headers: { 'x-forwarded-for': '198.51.100.1' } });
      await expectServed(live('xff', 'xff over'), 'MISS', { ip: proxy, app: app2, headers: { 'x-forwarded-for': '198.51.100.2' } });
    } finally {
      await app2.close();
      await proxied.close();
    }
  });
});

describe('the protections run in the SPEC order', () => {
  it('closed → budget → origin → signature → per-IP', async () => {
    const ip = '10.4.0.1';
    await scope('ordered', { allowNewGenerations: false, newGenerationsLimit: 1, allowedOrigins: ['https://good.example'], requireSignature: true });
    for (let i = 0; i < LIMIT_PER_IP; i++) await expectServed(live('brand-new', `fill ip ${i}`), 'MISS', { ip });
    const url = live('ordered', 'ordered prompt');
    await expectRefused(url, 403, 'SCOPE_CLOSED', { ip });
    await updateScope('ordered', { allowNewGenerations: true, newGenerationsLimit: 0 });
    await expectRefused(url, 403, 'SCOPE_LIMIT_REACHED', { ip });
    await updateScope('ordered', { newGenerationsLimit: 1 });
    await expectRefused(url, 403, 'ORIGIN_NOT_ALLOWED', { ip });
    await expectRefused(url, 403, 'SIGNATURE_REQUIRED', { ip, headers: { origin: 'https://good.example' } });
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } });
    const signed = signLiveUrl(`http://cdn.test${url}`, project.json().data.liveSigningSecret).replace('http://cdn.test', '');
    await expectRefused(signed, 429, 'IP_LIMIT', { ip, headers: { origin: 'https://good.example' } });
    await expectServed(signed, 'MISS', { ip: '10.4.0.2', headers: { origin: 'https://good.example' } });
  });
});
