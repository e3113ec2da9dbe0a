import { apiKeyService, systemClock } from '@banatie/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let master: string;
beforeAll(async () => {
  stack = await startStack({ worker: false });
  master = (await apiKeyService.createMasterKey({ db: stack.db, clock: systemClock })).key;
});
afterAll(async () => stack?.close());

const get = (url: string, key?: string) =>
  stack.app.inject({ method: 'GET', url, headers: key === undefined ? {} : { 'x-api-key': key } });

describe('authentication', () => {
  it('missing, malformed, unknown, expired and revoked keys all get the same 401', async () => {
    const expired = await stack.createKey('acme', 'site', { expiresInDays: 1 });
    await stack.db.updateTable('api_keys').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', expired.keyId).execute();
    const revoked = await stack.createKey('acme', 'site');
    await apiKeyService.revokeKey({ db: stack.db, clock: systemClock }, revoked.keyId);
    const keys = [undefined, '', 'garbage', `bnt_${'A'.repeat(40)}`, expired.key, revoked.key, master];
    const bodies = new Set<string>();
    for (const key of keys) {
      const res = await get('/api/v1/generations', key);
      expect(res.statusCode).toBe(401);
      bodies.add(res.body);
    }
    expect([...bodies]).toEqual([JSON.stringify({ success: false, error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API key' } })]);
  });

  it("another project's generation is 404, exactly as if it did not exist", async () => {
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': stack.key.key }, payload: { prompt: 'mine' } });
    const id = res.json().data.id;
    const other = await stack.createKey('acme', 'other');
    const theirs = await get(`/api/v1/generations/${id}`, other.key);
    const missing = await get('/api/v1/generations/00000000-0000-4000-8000-000000000000', other.key);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.body).toBe(missing.body);
    const list = await get('/api/v1/generations', other.key);
    expect(list.json().pagination.total).toBe(0);
    const flow = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: { 'x-api-key': other.key }, payload: { prompt: 'x', flowId: res.json().data.flowId } });
    expect(flow.statusCode).toBe(404);
    expect(flow.json().error.message).toBe('Flow not found');
  });
});

describe('admin API (master key)', () => {
  it('creates, lists and revokes project keys; project keys get 401 there', async () => {
    const created = await stack.app.inject({
      method: 'POST',
      url: '/api/admin/keys',
      headers: { 'x-api-key': master },
      payload: { orgSlug: 'newco', projectSlug: 'web', name: 'ci', expiresInDays: 30 },
    });
    expect(created.statusCode).toBe(201);
    const data = created.json().data;
    expect(Object.keys(data).sort()).toEqual(['key', 'keyId', 'orgSlug', 'organizationId', 'projectId', 'projectSlug', 'role']);
    expect(data.key).toMatch(/^bnt_[0-9A-Za-z]{40}$/);
    // New keys are standard unless asked (SPEC §16).
    expect(data.role).toBe('standard');
    expect((await get('/api/v1/project', data.key)).json().data).toMatchObject({ id: data.projectId, slug: 'web', orgSlug: 'newco' });

    const list = await get('/api/admin/keys?orgSlug=newco&projectSlug=web', master);
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toHaveLength(1);
    expect(list.json().data[0]).toMatchObject({ id: data.keyId, name: 'ci', prefix: data.key.slice(0, 12), revokedAt: null, role: 'standard' });
    expect(JSON.stringify(list.json())).not.toContain(data.key);

    expect((await get('/api/admin/keys?orgSlug=newco&projectSlug=web', data.key)).statusCode).toBe(401);
    const del = await stack.app.inject({ method: 'DELETE', url: `/api/admin/keys/${data.keyId}`, headers: { 'x-api-key': master } });
    expect(del.statusCode).toBe(200);
    expect(del.json().data).toEqual({ id: data.keyId });
    expect((await get('/api/v1/project', data.key)).statusCode).toBe(401);
  });

  it('rejects bad admin input', async () => {
    const bad = await stack.app.inject({ method: 'POST', url: '/api/admin/keys', headers: { 'x-api-key': master }, payload: { orgSlug: 'Bad Slug', projectSlug: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_ERROR');
    const missing = await stack.app.inject({ method: 'DELETE', url: '/api/admin/keys/00000000-0000-4000-8000-000000000000', headers: { 'x-api-key': master } });
    expect(missing.statusCode).toBe(404);
  });
});

describe('project settings', () => {
  it('shows secrets, updates settings, rotates secrets', async () => {
    const before = (await get('/api/v1/project', stack.key.key)).json().data;
    expect(before.webhookSecret).toMatch(/^whsec_/);
    expect(before.liveSigningSecret).toBeTruthy();
    expect(before.settings).toEqual({
      stylePrompt: null,
      defaultAspectRatio: null,
      webhookUrl: null,
      autoEnhanceDefault: null,
      defaultModel: null,
      defaultImageSize: null,
      live: {
        enabled: true,
        autoCreateScopes: true,
        scopeDefaults: { allowNewGenerations: true, newGenerationsLimit: 30, allowedOrigins: [], requireSignature: false },
        maxScopes: 100,
        newGenerationsPerDay: 100,
      },
    });
    const put = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload: { defaultAspectRatio: '3:2', webhookUrl: 'https://hooks.example.com/x' } });
    expect(put.json().data.settings).toMatchObject({ defaultAspectRatio: '3:2', webhookUrl: 'https://hooks.example.com/x' });
    const bad = await stack.app.inject({ method: 'PUT', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key }, payload: { defaultAspectRatio: '5:1' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toBe('Invalid aspect ratio');
    const rotated = await stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: { 'x-api-key': stack.key.key }, payload: { secret: 'webhook' } });
    expect(rotated.json().data.webhookSecret).not.toBe(before.webhookSecret);
    expect(rotated.json().data.liveSigningSecret).toBe(before.liveSigningSecret);
  });
});
