// Key roles (SPEC §16): every /api/v1 route against an admin and a standard
// key. The route list comes from the running API's OpenAPI document, so a new
// route fails this test until it is classified here (and, if admin-only,
// listed in docs/SPEC.md).
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { CreatedKey } from '@banatie/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenStack, startStack, type Stack } from './harness.js';

interface RouteCase {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As OpenAPI spells it: `/api/v1/generations/{id}`. */
  path: string;
  adminOnly: boolean;
  /** Concrete path to call (placeholders filled); default `path` with unknown ids. */
  url?: string;
  body?: unknown;
}

const SCOPE = 'roles-scope';
const missing = randomUUID();

/**
 * Every /api/v1 route. Requests mostly name things that do not exist (404 is
 * fine: it shows the role check let the request through); the admin-only ones
 * carry valid input, so an admin key's request succeeds and a standard key's
 * would have changed something had it not been refused.
 */
const ROUTES: RouteCase[] = [
  { method: 'POST', path: '/api/v1/generations', adminOnly: false, body: { prompt: '' } },
  { method: 'GET', path: '/api/v1/generations', adminOnly: false },
  { method: 'GET', path: '/api/v1/generations/{id}', adminOnly: false },
  { method: 'PUT', path: '/api/v1/generations/{id}', adminOnly: false, body: { meta: {} } },
  { method: 'DELETE', path: '/api/v1/generations/{id}', adminOnly: false },
  { method: 'POST', path: '/api/v1/generations/{id}/cancel', adminOnly: false },
  { method: 'GET', path: '/api/v1/generations/{id}/webhooks', adminOnly: false },
  { method: 'GET', path: '/api/v1/generations/{id}/events', adminOnly: false },
  { method: 'GET', path: '/api/v1/generations/events', adminOnly: false },
  { method: 'POST', path: '/api/v1/generations/{id}/regenerate', adminOnly: false },
  { method: 'POST', path: '/api/v1/generations/{id}/retry', adminOnly: false },
  { method: 'POST', path: '/api/v1/images/upload', adminOnly: false, body: {} },
  { method: 'GET', path: '/api/v1/images', adminOnly: false },
  { method: 'GET', path: '/api/v1/images/resolve/{alias}', adminOnly: false, url: '/api/v1/images/resolve/@nothing' },
  { method: 'GET', path: '/api/v1/images/{id}', adminOnly: false },
  { method: 'PUT', path: '/api/v1/images/{id}', adminOnly: false, body: { meta: {} } },
  { method: 'DELETE', path: '/api/v1/images/{id}', adminOnly: false },
  { method: 'PUT', path: '/api/v1/images/{id}/alias', adminOnly: false, body: { alias: '@nothing' } },
  { method: 'GET', path: '/api/v1/flows', adminOnly: false },
  { method: 'GET', path: '/api/v1/flows/{id}', adminOnly: false },
  { method: 'DELETE', path: '/api/v1/flows/{id}', adminOnly: false },
  { method: 'GET', path: '/api/v1/flows/{id}/generations', adminOnly: false },
  { method: 'GET', path: '/api/v1/flows/{id}/images', adminOnly: false },
  { method: 'PUT', path: '/api/v1/flows/{id}/aliases', adminOnly: false, body: { aliases: {} } },
  { method: 'DELETE', path: '/api/v1/flows/{id}/aliases/{alias}', adminOnly: false, url: `/api/v1/flows/${missing}/aliases/@nothing` },
  { method: 'POST', path: '/api/v1/flows/{id}/regenerate', adminOnly: false },
  { method: 'GET', path: '/api/v1/live', adminOnly: false },
  { method: 'POST', path: '/api/v1/live/sign', adminOnly: false, body: { scope: SCOPE, prompt: 'a signed role test' } },
  { method: 'GET', path: '/api/v1/live/scopes', adminOnly: false },
  { method: 'GET', path: '/api/v1/live/scopes/{slug}', adminOnly: false, url: `/api/v1/live/scopes/${SCOPE}` },
  { method: 'GET', path: '/api/v1/project', adminOnly: false },
  { method: 'GET', path: '/api/v1/usage', adminOnly: false },
  { method: 'GET', path: '/api/v1/models', adminOnly: false },
  { method: 'POST', path: '/api/v1/batches', adminOnly: false, body: { items: [] } },
  { method: 'GET', path: '/api/v1/batches', adminOnly: false },
  { method: 'GET', path: '/api/v1/batches/{id}', adminOnly: false },
  { method: 'POST', path: '/api/v1/batches/{id}/cancel', adminOnly: false },
  // Admin only, in an order that works for the admin key: create before update before delete.
  { method: 'PUT', path: '/api/v1/project', adminOnly: true, body: { stylePrompt: 'set by an admin key' } },
  { method: 'POST', path: '/api/v1/project/secrets/rotate', adminOnly: true, body: { secret: 'live', graceSeconds: 60 } },
  { method: 'POST', path: '/api/v1/live/scopes', adminOnly: true, body: { slug: SCOPE, newGenerationsLimit: 5 } },
  { method: 'PUT', path: '/api/v1/live/scopes/{slug}', adminOnly: true, url: `/api/v1/live/scopes/${SCOPE}`, body: { newGenerationsLimit: 7 } },
  { method: 'DELETE', path: '/api/v1/live/scopes/{slug}', adminOnly: true, url: `/api/v1/live/scopes/${SCOPE}` },
];

const urlOf = (r: RouteCase) => r.url ?? r.path.replace('{id}', missing);
const routeName = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;

let stack: Stack;
let baseUrl: string;
let admin: CreatedKey;
let standard: CreatedKey;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  baseUrl = await listenStack(stack);
  admin = stack.key;
  standard = await stack.createKey('acme', 'site', { role: 'standard' });
});
afterAll(async () => {
  await stack?.close();
});

/** Status and JSON body (an event stream is closed once its status arrived). */
async function call(key: string, r: RouteCase): Promise<{ status: number; body: any }> {
  const abort = new AbortController();
  const res = await fetch(`${baseUrl}${urlOf(r)}`, {
    method: r.method,
    headers: { 'x-api-key': key, ...(r.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
    signal: abort.signal,
  });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    abort.abort();
    return { status: res.status, body: null };
  }
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

async function adminView(): Promise<{ project: any; scopes: any[] }> {
  const get = async (path: string) => (await fetch(`${baseUrl}${path}`, { headers: { 'x-api-key': admin.key } })).json() as Promise<any>;
  const [project, scopes] = await Promise.all([get('/api/v1/project'), get('/api/v1/live/scopes')]);
  return { project: project.data, scopes: scopes.data };
}

describe('key roles on every /api/v1 route', () => {
  it('the table covers every /api/v1 route the API serves', async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1'))
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'head').map((m) => routeName(m, path)));
    expect(ROUTES.map((r) => routeName(r.method, r.path)).sort()).toEqual(served.sort());
  });

  it('a standard key is refused with 403 FORBIDDEN on the admin routes only, and changes nothing there', async () => {
    const before = await adminView();
    const refused: string[] = [];
    for (const r of ROUTES) {
      const { status, body } = await call(standard.key, r);
      expect(status, `${routeName(r.method, r.path)}: ${JSON.stringify(body)}`).not.toBe(401);
      if (status === 403) {
        expect(body).toEqual({
          success: false,
          error: { code: 'FORBIDDEN', message: 'This action requires an admin key', details: { reason: 'ADMIN_KEY_REQUIRED', requiredRole: 'admin' } },
        });
        refused.push(routeName(r.method, r.path));
      }
    }
    expect(refused.sort()).toEqual(ROUTES.filter((r) => r.adminOnly).map((r) => routeName(r.method, r.path)).sort());
    // Settings, secrets and scopes are exactly as they were.
    expect(await adminView()).toEqual(before);
  });

  it('the role is decided before the input: a standard key gets 403 for an invalid body on an admin route', async () => {
    const r = await call(standard.key, { method: 'PUT', path: '/api/v1/project', adminOnly: true, body: { defaultAspectRatio: '5:1', unknown: 1 } });
    expect(r.status).toBe(403);
  });

  it('an admin key may use every route, and the admin routes do what they say', async () => {
    for (const r of ROUTES) {
      const { status, body } = await call(admin.key, r);
      expect([401, 403], `${routeName(r.method, r.path)}: ${JSON.stringify(body)}`).not.toContain(status);
      if (r.adminOnly) expect(status, `${routeName(r.method, r.path)}: ${JSON.stringify(body)}`).toBeLessThan(300);
    }
    const after = await adminView();
    expect(after.project.settings.stylePrompt).toBe('set by an admin key');
    expect(after.project.secrets.live.previousSecretExpiresAt).toEqual(expect.any(String));
    expect(after.scopes.map((s: { slug: string }) => s.slug)).not.toContain(SCOPE);
  });

  it('GET /project: secrets and their rotation state for an admin key, none of them for a standard key', async () => {
    const [asAdmin, asStandard] = await Promise.all([
      call(admin.key, { method: 'GET', path: '/api/v1/project', adminOnly: false }),
      call(standard.key, { method: 'GET', path: '/api/v1/project', adminOnly: false }),
    ]);
    expect(asAdmin.body.data).toMatchObject({
      webhookSecret: expect.stringMatching(/^whsec_/),
      liveSigningSecret: expect.any(String),
      secrets: { webhook: { previousSecretExpiresAt: null }, live: { previousSecretExpiresAt: expect.any(String) } },
    });
    const { webhookSecret, liveSigningSecret, secrets, ...shared } = asAdmin.body.data;
    expect(asStandard.body.data).toEqual(shared);
    expect(JSON.stringify(asStandard.body)).not.toContain(webhookSecret);
    expect(JSON.stringify(asStandard.body)).not.toContain(liveSigningSecret);
  });

  it('docs/SPEC.md lists exactly the routes a standard key may not use', async () => {
    const spec = await readFile(new URL('../../../docs/SPEC.md', import.meta.url), 'utf8');
    const section = spec.slice(spec.indexOf('## 16.'), spec.indexOf('\n## ', spec.indexOf('## 16.') + 1));
    const start = section.indexOf('Routes a standard key may not use');
    expect(start, 'the list in docs/SPEC.md §16').toBeGreaterThan(-1);
    const listed = [...section.slice(start).matchAll(/^\| `(GET|POST|PUT|DELETE) (\/api\/v1\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(listed.sort()).toEqual(ROUTES.filter((r) => r.adminOnly).map((r) => routeName(r.method, r.path)).sort());
  });
});

describe('key roles through the admin API', () => {
  let master: string;
  beforeAll(async () => {
    const { apiKeyService, systemClock } = await import('@banatie/core');
    master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
  });

  const createKey = (payload: Record<string, unknown>) =>
    stack.app.inject({ method: 'POST', url: '/api/admin/keys', headers: { 'x-api-key': master }, payload: { orgSlug: 'acme', projectSlug: 'site', ...payload } });

  it('creates standard keys unless asked, admin keys when asked, and lists the role', async () => {
    const [plain, asked, std] = await Promise.all([createKey({ name: 'plain' }), createKey({ name: 'asked', role: 'admin' }), createKey({ name: 'std', role: 'standard' })]);
    expect([plain.statusCode, asked.statusCode, std.statusCode]).toEqual([201, 201, 201]);
    expect([plain.json().data.role, asked.json().data.role, std.json().data.role]).toEqual(['standard', 'admin', 'standard']);
    const list = await stack.app.inject({ method: 'GET', url: '/api/admin/keys?orgSlug=acme&projectSlug=site', headers: { 'x-api-key': master } });
    const roles = Object.fromEntries(list.json().data.map((k: { name: string; role: string }) => [k.name, k.role]));
    expect(roles).toMatchObject({ plain: 'standard', asked: 'admin', std: 'standard' });
    // What each key can do follows its role.
    const rotate = (key: string) =>
      stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: { 'x-api-key': key }, payload: { secret: 'webhook', graceSeconds: 0 } });
    expect((await rotate(plain.json().data.key)).statusCode).toBe(403);
    expect((await rotate(asked.json().data.key)).statusCode).toBe(200);
  });

  it('refuses an unknown role', async () => {
    const bad = await createKey({ role: 'owner' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'role must be "admin" or "standard"' });
  });
});
