import { signLiveUrl, type CreatedKey } from '@banatie/core';
import { createLogger } from '@banatie/logger';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createAppDeps } from '../src/main-deps.js';
import { startStack, type Stack } from './harness.js';

/** The project live policy (SPEC §11): every refused MISS leaves no scope, no row, no counter and makes no model call. */

const LIMIT_PER_IP = 3;
let stack: Stack;
let ipCounter = 0;
const freshIp = () => `10.9.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;

interface Project {
  org: string;
  slug: string;
  key: CreatedKey;
  id: string;
}

let projectCounter = 0;
async function newProject(live?: Record<string, unknown>): Promise<Project> {
  const slug = `policy-${++projectCounter}`;
  const key = await stack.createKey('acme', slug);
  if (live) await putLive({ org: 'acme', slug, key, id: key.projectId }, live, 200);
  return { org: 'acme', slug, key, id: key.projectId };
}

async function putLive(p: Project, live: unknown, status = 200) {
  const res = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': p.key.key }, payload: { live } });
  expect(res.statusCode, res.body).toBe(status);
  return res;
}

async function createScope(p: Project, slug: string, settings: Record<string, unknown> = {}): Promise<void> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/live/scopes', headers: { 'x-api-key': p.key.key }, payload: { slug, ...settings } });
  expect(res.statusCode, res.body).toBe(201);
}

const liveUrl = (p: Project, scope: string, prompt: string) => `/cdn/${p.org}/${p.slug}/live/${scope}?prompt=${encodeURIComponent(prompt)}`;

function get(url: string, opts: { ip?: string; headers?: Record<string, string>; app?: FastifyInstance } = {}) {
  return (opts.app ?? stack.app).inject({ method: 'GET', url, remoteAddress: opts.ip ?? freshIp(), headers: opts.headers });
}

/** Everything a MISS could leave behind for a project, and the model calls made so far. */
async function traces(p: Project) {
  const count = async (table: 'generations' | 'live_scopes' | 'live_entries') => {
    const row = await stack.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('project_id', '=', p.id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const usage = await stack.db.selectFrom('live_daily_usage').select('generations').where('project_id', '=', p.id).execute();
  return {
    generations: await count('generations'),
    scopes: await count('live_scopes'),
    entries: await count('live_entries'),
    dailyUsage: usage.reduce((n, r) => n + r.generations, 0),
    modelCalls: stack.fake!.requests.length,
  };
}

async function expectRefused(p: Project, url: string, status: number, code: string, opts: Parameters<typeof get>[1] = {}) {
  const before = await traces(p);
  const res = await get(url, opts);
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.json()).toMatchObject({ success: false, error: { code } });
  // Public bodies: the code, a fixed message and the request id, nothing else (SPEC §11).
  expect(Object.keys(res.json().error).sort()).toEqual(['code', 'message', 'requestId']);
  expect(res.json().error.requestId).toBe(res.headers['x-request-id']);
  expect(await traces(p)).toEqual(before);
  return res;
}

async function expectServed(url: string, cache: 'HIT' | 'MISS', opts: Parameters<typeof get>[1] = {}) {
  const res = await get(url, opts);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['x-cache-status']).toBe(cache);
  return res;
}

beforeAll(async () => {
  stack = await startStack({ provider: 'gemini', env: { LIVE_MISS_PER_IP_PER_HOUR: String(LIMIT_PER_IP) } });
});
afterAll(async () => {
  await stack?.close();
});

describe('the live policy in project settings', () => {
  it('GET shows the defaults; PUT merges the given fields; null restores the defaults', async () => {
    const p = await newProject();
    const read = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': p.key.key } });
    expect(read.json().data.settings.live).toEqual({
      enabled: true,
      autoCreateScopes: true,
      scopeDefaults: { allowNewGenerations: true, newGenerationsLimit: 30, allowedOrigins: [], requireSignature: false },
      maxScopes: 100,
      newGenerationsPerDay: 100,
    });
    await putLive(p, { autoCreateScopes: false, scopeDefaults: { requireSignature: true, allowedOrigins: ['HTTPS://Site.Example:443/'] } });
    const put = await putLive(p, { newGenerationsPerDay: null, scopeDefaults: { newGenerationsLimit: 5 } });
    expect(put.json().data.settings.live).toEqual({
      enabled: true,
      autoCreateScopes: false,
      scopeDefaults: { allowNewGenerations: true, newGenerationsLimit: 5, allowedOrigins: ['https://site.example'], requireSignature: true },
      maxScopes: 100,
      newGenerationsPerDay: null,
    });
    const other = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': p.key.key }, payload: { stylePrompt: 'in ink' } });
    expect(other.json().data.settings.live.autoCreateScopes).toBe(false);
    const reset = await putLive(p, null);
    expect(reset.json().data.settings.live).toEqual(read.json().data.settings.live);
  });

  it('refuses malformed policies with 400 and standard keys with 403', async () => {
    const p = await newProject();
    for (const live of [
      { enabled: 'yes' },
      { maxScopes: -1 },
      { newGenerationsPerDay: 1.5 },
      { unknownField: true },
      { scopeDefaults: { meta: {} } },
      { scopeDefaults: { allowedOrigins: ['not an origin'] } },
    ]) {
      const res = await putLive(p, live, 400);
      expect(res.json().error.code).toBe('VALIDATION_ERROR');
    }
    const standard = await stack.createKey('acme', p.slug, { role: 'standard' });
    const res = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': standard.key }, payload: { live: { enabled: false } } });
    expect(res.statusCode).toBe(403);
    const read = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': standard.key } });
    expect(read.json().data.settings.live.enabled).toBe(true);
  });
});

describe('enabled: false', () => {
  it('refuses every MISS with 403 LIVE_DISABLED and still serves HITs', async () => {
    const p = await newProject();
    await expectServed(liveUrl(p, 'site', 'made while enabled'), 'MISS');
    await putLive(p, { enabled: false });
    await expectRefused(p, liveUrl(p, 'site', 'made while disabled'), 403, 'LIVE_DISABLED');
    await expectRefused(p, liveUrl(p, 'never-seen', 'a new scope too'), 403, 'LIVE_DISABLED');
    await expectServed(liveUrl(p, 'site', 'made while enabled'), 'HIT');
    await putLive(p, { enabled: true });
    await expectServed(liveUrl(p, 'site', 'made while disabled'), 'MISS');
  });
});

describe('autoCreateScopes: false', () => {
  it('unknown scope names on a locked-down project are 404 Scope not found; nothing is created', async () => {
    const p = await newProject({ autoCreateScopes: false });
    await createScope(p, 'locked', { requireSignature: true });
    for (const name of ['other', 'hero', 'x', 'locked2']) {
      const res = await expectRefused(p, liveUrl(p, name, 'bypass the lock'), 404, 'NOT_FOUND');
      expect(res.json().error.message).toBe('Scope not found');
    }
    await expectRefused(p, liveUrl(p, 'locked', 'unsigned'), 403, 'FORBIDDEN');
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': p.key.key } });
    const signed = signLiveUrl(`http://cdn.test${liveUrl(p, 'locked', 'signed')}`, project.json().data.liveSigningSecret).replace('http://cdn.test', '');
    await expectServed(signed, 'MISS');
  });
});

describe('scopeDefaults', () => {
  it('auto-created scopes get them: a new name cannot bypass signatures or origins', async () => {
    const p = await newProject({ scopeDefaults: { requireSignature: true, allowedOrigins: ['https://good.example'], newGenerationsLimit: 2 } });
    await expectRefused(p, liveUrl(p, 'any-name', 'unsigned'), 403, 'FORBIDDEN', { headers: { origin: 'https://good.example' } });
    const project = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': p.key.key } });
    const secret = project.json().data.liveSigningSecret;
    const signed = (prompt: string) => signLiveUrl(`http://cdn.test${liveUrl(p, 'any-name', prompt)}`, secret).replace('http://cdn.test', '');
    await expectRefused(p, signed('no origin'), 403, 'FORBIDDEN');
    await expectServed(signed('signed with origin'), 'MISS', { headers: { origin: 'https://good.example' } });
    const scope = await stack.app.inject({ method: 'GET', url: '/api/v1/live/scopes/any-name', headers: { 'x-api-key': p.key.key } });
    expect(scope.json().data).toMatchObject({ allowNewGenerations: true, newGenerationsLimit: 2, allowedOrigins: ['https://good.example'], requireSignature: true, currentGenerations: 1 });
  });

  it('URLs signed with the previous live secret keep working during the grace period, on auto-created scopes too', async () => {
    const p = await newProject({ scopeDefaults: { requireSignature: true } });
    const before = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': p.key.key } });
    const oldSecret = before.json().data.liveSigningSecret;
    const rotated = await stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: { 'x-api-key': p.key.key }, payload: { secret: 'live', graceSeconds: 600 } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const oldSigned = signLiveUrl(`http://cdn.test${liveUrl(p, 'rotated', 'old secret')}`, oldSecret).replace('http://cdn.test', '');
    await expectServed(oldSigned, 'MISS');
    const newSigned = signLiveUrl(`http://cdn.test${liveUrl(p, 'rotated', 'new secret')}`, rotated.json().data.liveSigningSecret).replace('http://cdn.test', '');
    await expectServed(newSigned, 'MISS');
  });
});

describe('maxScopes', () => {
  it('auto-creation stops at maxScopes with 403 SCOPE_LIMIT_REACHED; existing scopes go on', async () => {
    const p = await newProject({ maxScopes: 2 });
    await createScope(p, 'made-by-owner');
    await expectServed(liveUrl(p, 'auto-one', 'first'), 'MISS');
    await expectRefused(p, liveUrl(p, 'auto-two', 'second'), 403, 'SCOPE_LIMIT_REACHED');
    await expectRefused(p, liveUrl(p, 'auto-three', 'third'), 403, 'SCOPE_LIMIT_REACHED');
    await expectServed(liveUrl(p, 'auto-one', 'another prompt'), 'MISS');
    await expectServed(liveUrl(p, 'made-by-owner', 'owner scope'), 'MISS');
  });

  it('concurrent MISSes on many new scope names, on two API instances, never create more than maxScopes', async () => {
    const p = await newProject({ maxScopes: 3 });
    const second = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app2 = await buildApp(second);
    try {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => get(liveUrl(p, `racing-scope-${i}`, `prompt ${i}`), { app: i % 2 ? app2 : stack.app })));
      expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3);
      for (const r of results.filter((x) => x.statusCode !== 200)) expect(r.json().error.code).toBe('SCOPE_LIMIT_REACHED');
      expect((await traces(p)).scopes).toBe(3);
    } finally {
      await app2.close();
      await second.close();
    }
  });
});

describe('newGenerationsPerDay', () => {
  it('is one budget across scopes and API instances: past it, 403 LIVE_BUDGET_EXHAUSTED; HITs go on', async () => {
    const p = await newProject({ newGenerationsPerDay: 3 });
    const second = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app2 = await buildApp(second);
    try {
      await expectServed(liveUrl(p, 'one', 'a'), 'MISS');
      await expectServed(liveUrl(p, 'two', 'b'), 'MISS', { app: app2 });
      await expectServed(liveUrl(p, 'one', 'c'), 'MISS', { app: app2 });
      await expectRefused(p, liveUrl(p, 'two', 'd'), 403, 'LIVE_BUDGET_EXHAUSTED');
      await expectRefused(p, liveUrl(p, 'three', 'e'), 403, 'LIVE_BUDGET_EXHAUSTED', { app: app2 });
      await expectServed(liveUrl(p, 'one', 'a'), 'HIT', { app: app2 });
      expect((await traces(p)).dailyUsage).toBe(3);
      await putLive(p, { newGenerationsPerDay: 4 });
      await expectServed(liveUrl(p, 'two', 'd'), 'MISS', { app: app2 });
      await expectRefused(p, liveUrl(p, 'two', 'f'), 403, 'LIVE_BUDGET_EXHAUSTED');
    } finally {
      await app2.close();
      await second.close();
    }
  });

  it('concurrent MISSes racing the cap on two instances never overspend it', async () => {
    const p = await newProject({ newGenerationsPerDay: 3 });
    const second = await createAppDeps(stack.config, createLogger({ level: 'silent' }));
    const app2 = await buildApp(second);
    try {
      const calls = stack.fake!.requests.length;
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => get(liveUrl(p, 'race', `racing ${i}`), { app: i % 2 ? app2 : stack.app })));
      expect(results.filter((r) => r.statusCode === 200)).toHaveLength(3);
      for (const r of results.filter((x) => x.statusCode !== 200)) expect(r.json().error.code).toBe('LIVE_BUDGET_EXHAUSTED');
      const t = await traces(p);
      expect(t).toMatchObject({ generations: 3, entries: 3, dailyUsage: 3 });
      // Each generation makes its image call (and its prompt enhancement): nothing for the refused ones.
      expect(stack.fake!.requests.slice(calls).filter((r) => r.model === stack.config.gemini.imageModel)).toHaveLength(3);
    } finally {
      await app2.close();
      await second.close();
    }
  });

  it('null: no cap', async () => {
    const p = await newProject({ newGenerationsPerDay: null });
    for (let i = 0; i < 3; i++) await expectServed(liveUrl(p, 'open', `uncapped ${i}`), 'MISS');
  });
});

describe('a refused MISS does not count against its address', () => {
  it('refusals by the policy leave the per-IP counter alone', async () => {
    const p = await newProject({ autoCreateScopes: false, newGenerationsPerDay: LIMIT_PER_IP });
    await createScope(p, 'only', { allowedOrigins: ['https://good.example'] });
    const ip = '10.8.0.1';
    for (let i = 0; i < 2 * LIMIT_PER_IP; i++) {
      await expectRefused(p, liveUrl(p, `missing-${i}`, 'x'), 404, 'NOT_FOUND', { ip });
      await expectRefused(p, liveUrl(p, 'only', `wrong origin ${i}`), 403, 'FORBIDDEN', { ip, headers: { origin: 'https://evil.example' } });
    }
    for (let i = 0; i < LIMIT_PER_IP; i++) await expectServed(liveUrl(p, 'only', `allowed ${i}`), 'MISS', { ip, headers: { origin: 'https://good.example' } });
    await expectRefused(p, liveUrl(p, 'only', 'over the cap'), 403, 'LIVE_BUDGET_EXHAUSTED', { ip, headers: { origin: 'https://good.example' } });
    await putLive(p, { newGenerationsPerDay: null });
    await expectRefused(p, liveUrl(p, 'only', 'over the address limit'), 429, 'RATE_LIMIT_EXCEEDED', { ip, headers: { origin: 'https://good.example' } });
  });
});
