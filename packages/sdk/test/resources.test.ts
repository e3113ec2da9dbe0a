import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  deletedSchema,
  flowSchema,
  generationSchema,
  imageSchema,
  liveScopeSchema,
  batchSchema,
  modelSchema,
  paginationSchema,
  projectSchema,
  resolvedImageSchema,
  usageReportSchema,
} from '@banatie/contracts';
import { signLiveUrl as serverSignLiveUrl } from '@banatie/core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenStack, startStack, type Stack } from '../../../apps/api/test/harness.js';
import { Banatie, type Generation } from '../src/index.js';
import { caught, expectShape, png } from './helpers.js';

let stack: Stack;
let baseUrl: string;
let client: Banatie;

beforeAll(async () => {
  stack = await startStack();
  baseUrl = await listenStack(stack);
  client = new Banatie({ apiKey: stack.key.key, baseUrl });
});
afterAll(async () => {
  await stack?.close();
});

/** Long-polls through the SDK until the generation is terminal (bounded by the test timeout). */
async function terminal(id: string): Promise<Generation> {
  for (;;) {
    const g = await client.generations.get(id, { wait: 10 });
    if (['success', 'failed', 'cancelled'].includes(g.status)) return g;
  }
}

describe('generations', () => {
  it('create, get (long-poll), list, update, regenerate, webhooks, events and delete round-trip', async () => {
    const created = await client.generations.create({ prompt: 'a lighthouse at dusk', aspectRatio: '16:9', meta: { campaign: 'sdk' } });
    expect(created.warnings).toEqual([]);
    expect(created.replayed).toBe(false);
    expectShape(generationSchema, created.generation);
    expect(created.generation).toMatchObject({ status: 'pending', aspectRatio: '16:9', meta: { campaign: 'sdk' } });

    const done = expectShape(generationSchema, await terminal(created.generation.id));
    expect(done.status).toBe('success');
    expect(done.outputImage).toMatchObject({ width: expect.any(Number), source: 'generated' });
    expect(done.outputImage!.width / done.outputImage!.height).toBeCloseTo(16 / 9, 1);

    const page = await client.generations.list({ status: 'success', limit: 5 });
    expectShape(paginationSchema, page.pagination);
    expect(page.pagination).toMatchObject({ limit: 5, offset: 0 });
    expect(page.data.map((g) => g.id)).toContain(done.id);
    for (const g of page.data) expectShape(generationSchema, g);
    const byFlow = await client.generations.list({ flowId: done.flowId! });
    expect(byFlow.data.map((g) => g.id)).toEqual([done.id]);

    const updated = expectShape(generationSchema, await client.generations.update(done.id, { meta: { campaign: 'updated' } }));
    expect(updated.meta).toEqual({ campaign: 'updated' });
    expect(updated.status).toBe('success');

    const regenerated = expectShape(generationSchema, await client.generations.regenerate(done.id));
    expect(regenerated.id).toBe(done.id);
    const again = await terminal(done.id);
    expect(again.status).toBe('success');
    expect(again.outputImage!.id).toBe(done.outputImage!.id);
    // The local provider is deterministic: an identical rerun keeps the version (SPEC §4).
    expect(again.outputImage!.version).toBe(done.outputImage!.version);
    expect(again.completedAt! > done.completedAt!).toBe(true);

    const events: Generation[] = [];
    for await (const g of client.generations.events(done.id)) events.push(g);
    expect(events.map((g) => g.status)).toEqual(['success']);
    expectShape(generationSchema, events[0]);

    const attempts = await client.generations.webhooks(done.id);
    expect(attempts).toEqual({ data: [], pagination: { total: 0, limit: 20, offset: 0, hasMore: false } });

    expectShape(deletedSchema, await client.generations.delete(done.id));
    expect((await client.generations.get(done.id)).deletedAt).toEqual(expect.any(String));
    expect((await client.generations.list({ flowId: done.flowId! })).data).toEqual([]);
    const withDeleted = await client.generations.list({ includeDeleted: true, flowId: done.flowId! });
    expect(withDeleted.data[0]).toMatchObject({ id: done.id, deletedAt: expect.any(String) });
  });

  it('create with wait answers the finished generation; an Idempotency-Key replays it; unresolved aliases come back as warnings', async () => {
    const key = randomUUID();
    const first = await client.generations.create({ prompt: 'a cat next to @nowhere' }, { wait: 20, idempotencyKey: key });
    expect(first.generation.status).toBe('success');
    expect(first.warnings).toEqual([expect.stringContaining('@nowhere')]);
    const replay = await client.generations.create({ prompt: 'a cat next to @nowhere' }, { idempotencyKey: key });
    expect(replay.replayed).toBe(true);
    expect(replay.generation.id).toBe(first.generation.id);
  });
});

describe('images', () => {
  it('uploads from a Buffer, a Blob, a ReadableStream and an async iterable', async () => {
    const bytes = await png(40, 30);
    const fromBuffer = expectShape(imageSchema, await client.images.upload(bytes, { alias: '@logo', meta: { from: 'buffer' } }));
    expect(fromBuffer).toMatchObject({ source: 'uploaded', width: 40, height: 30, alias: '@logo', meta: { from: 'buffer' }, mimeType: 'image/png' });

    const fromBlob = await client.images.upload(new Blob([new Uint8Array(await png(20, 20))], { type: 'image/png' }), { filename: 'blob.png' });
    expect(fromBlob).toMatchObject({ width: 20, height: 20 });

    const webStream = Readable.toWeb(Readable.from([bytes.subarray(0, 100), bytes.subarray(100)])) as ReadableStream<Uint8Array>;
    const fromStream = await client.images.upload(webStream, { contentType: 'image/png' });
    expect(fromStream).toMatchObject({ width: 40, height: 30 });

    const fromIterable = await client.images.upload(Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]));
    expect(fromIterable).toMatchObject({ width: 40, height: 30 });
    expect(new Set([fromBuffer.id, fromBlob.id, fromStream.id, fromIterable.id]).size).toBe(4);
  });

  it('refuses an oversized stream before sending it', async () => {
    async function* big() {
      for (let i = 0; i < 6; i++) yield new Uint8Array(1024 * 1024);
    }
    const err = await caught(client.images.upload(big()));
    expect(err).toMatchObject({ code: 'FILE_TOO_LARGE', status: 413 });
  });

  it('get, list, update, setAlias, resolve and delete round-trip', async () => {
    const image = await client.images.upload(await png(32, 32), { alias: '@brand' });
    expectShape(imageSchema, await client.images.get(image.id));

    const listed = await client.images.list({ source: 'uploaded', alias: '@brand' });
    expect(listed.data.map((i) => i.id)).toEqual([image.id]);
    expect(listed.pagination.total).toBe(1);

    const focused = expectShape(imageSchema, await client.images.update(image.id, { focalPoint: { x: 0.25, y: 0.75 }, meta: { alt: 'brand' } }));
    expect(focused).toMatchObject({ focalPoint: { x: 0.25, y: 0.75 }, meta: { alt: 'brand' } });

    const renamed = await client.images.setAlias(image.id, '@brand-new');
    expect(renamed.alias).toBe('@brand-new');
    const resolved = expectShape(resolvedImageSchema, await client.images.resolve('@brand-new'));
    expect(resolved).toMatchObject({ image: { id: image.id }, resolution: { alias: '@brand-new', scope: 'project', flowId: null } });
    expect((await client.images.setAlias(image.id, null)).alias).toBeNull();
    expect((await caught(client.images.resolve('@brand-new'))).code).toBe('NOT_FOUND');

    expect(await client.images.delete(image.id)).toEqual({ id: image.id });
    expect((await caught(client.images.get(image.id))).status).toBe(404);
  });
});

describe('flows', () => {
  it('list, get, generations, images, setAliases, deleteAlias, regenerate and delete round-trip', async () => {
    const { generation } = await client.generations.create({ prompt: 'a flow start', flowAlias: '@start' }, { wait: 20 });
    const flowId = generation.flowId!;
    const upload = await client.images.upload(await png(16, 16), { flowId, flowAlias: '@upload-ref' });

    const flow = expectShape(flowSchema, await client.flows.get(flowId));
    expect(flow).toMatchObject({ id: flowId, generationCount: 1, imageCount: 2 });
    expect(Object.keys(flow.aliases).sort()).toEqual(['@start', '@upload-ref']);

    const flows = await client.flows.list({ limit: 100 });
    expect(flows.data.map((f) => f.id)).toContain(flowId);
    for (const f of flows.data) expectShape(flowSchema, f);

    expect((await client.flows.generations(flowId)).data.map((g) => g.id)).toEqual([generation.id]);
    const images = await client.flows.images(flowId);
    expect(images.data.map((i) => i.id).sort()).toEqual([generation.outputImageId, upload.id].sort());

    const merged = await client.flows.setAliases(flowId, { '@bg': upload.id });
    expect(merged.aliases['@bg']).toBe(upload.id);
    const removed = await client.flows.deleteAlias(flowId, '@bg');
    expect(removed.aliases['@bg']).toBeUndefined();

    const regenerated = expectShape(generationSchema, await client.flows.regenerate(flowId));
    expect(regenerated.id).toBe(generation.id);
    expect((await terminal(generation.id)).status).toBe('success');

    expect(await client.flows.delete(flowId)).toEqual({ id: flowId });
    expect((await caught(client.flows.get(flowId))).code).toBe('NOT_FOUND');
  });
});

describe('live scopes and live URLs', () => {
  it('create, list, get, update and delete round-trip', async () => {
    const created = expectShape(liveScopeSchema, await client.live.scopes.create({ slug: 'crud', newGenerationsLimit: 5, meta: { page: 'home' } }));
    expect(created).toMatchObject({ slug: 'crud', newGenerationsLimit: 5, requireSignature: false, meta: { page: 'home' } });
    const listed = await client.live.scopes.list();
    expect(listed.data.map((s) => s.slug)).toContain('crud');
    expect((await client.live.scopes.get('crud')).id).toBe(created.id);
    const updated = await client.live.scopes.update('crud', { allowNewGenerations: false, allowedOrigins: ['https://good.example'] });
    expect(updated).toMatchObject({ allowNewGenerations: false, allowedOrigins: ['https://good.example'] });
    expect(await client.live.scopes.delete('crud')).toEqual({ id: created.id });
    expect((await caught(client.live.scopes.get('crud'))).code).toBe('NOT_FOUND');
  });

  it('a URL signed by live.sign is served on a scope that requires signatures; tampered or unsigned ones get 403', async () => {
    await client.live.scopes.create({ slug: 'signed', requireSignature: true });
    const { liveSigningSecret, orgSlug, slug } = await client.project.get();
    const secret = liveSigningSecret!;
    const params = { org: orgSlug, project: slug, scope: 'signed', prompt: 'a signed lighthouse & a "quoted" word', aspectRatio: '4:3' as const, autoEnhance: false };
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const signed = await client.live.sign({ ...params, secret, expiresAt });

    // Byte-for-byte the server's own signing of the same URL.
    expect(signed).toBe(serverSignLiveUrl(client.live.url(params), secret, { expiresAt }));
    expect(signed.startsWith(`${baseUrl}/cdn/${orgSlug}/${slug}/live/signed?`)).toBe(true);

    const res = await fetch(signed);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width! / meta.height!).toBeCloseTo(4 / 3, 1);

    const tampered = signed.replace('lighthouse', 'lightship');
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    // Public bodies carry the code and a fixed message only (SPEC §11).
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'FORBIDDEN', message: 'Invalid live URL signature' });

    // A cached prompt is served to anyone (HIT), so the refusals use prompts not generated yet.
    const wrongSecret = await fetch(await client.live.sign({ ...params, prompt: 'another prompt', secret: 'lss_not-the-secret' }));
    expect(wrongSecret.status).toBe(403);
    const unsigned = await fetch(client.live.url({ ...params, prompt: 'an unsigned prompt' }));
    expect(unsigned.status).toBe(403);
    expect(((await unsigned.json()) as { error: unknown }).error).toMatchObject({ code: 'FORBIDDEN', message: 'This live scope requires a signed URL' });
  });
});

describe('project', () => {
  it('get, update and rotateSecret round-trip', async () => {
    const project = expectShape(projectSchema, await client.project.get());
    expect(project).toMatchObject({ orgSlug: 'acme', slug: 'site' });

    const updated = expectShape(projectSchema, await client.project.update({ stylePrompt: 'flat pastel', defaultAspectRatio: '3:2', autoEnhanceDefault: false }));
    expect(updated.settings).toEqual({
      stylePrompt: 'flat pastel',
      defaultAspectRatio: '3:2',
      webhookUrl: null,
      autoEnhanceDefault: false,
      defaultModel: null,
      defaultImageSize: null,
      live: project.settings.live,
    });
    const cleared = await client.project.update({ stylePrompt: null, defaultAspectRatio: null, autoEnhanceDefault: null });
    expect(cleared.settings).toEqual({
      stylePrompt: null,
      defaultAspectRatio: null,
      webhookUrl: null,
      autoEnhanceDefault: null,
      defaultModel: null,
      defaultImageSize: null,
      live: project.settings.live,
    });

    const live = await client.project.rotateSecret('live');
    expect(live.liveSigningSecret).not.toBe(project.liveSigningSecret);
    expect(live.webhookSecret).toBe(project.webhookSecret);
    const webhook = await client.project.rotateSecret('webhook');
    expect(webhook.webhookSecret).not.toBe(project.webhookSecret);
    expect(webhook.webhookSecret).toMatch(/^whsec_/);
    // A bare kind takes the default grace period (one day): the replaced secret stays valid.
    expect(Date.parse(webhook.secrets!.webhook.previousSecretExpiresAt!)).toBeGreaterThan(Date.now() + 86_000_000);

    const graced = expectShape(projectSchema, await client.project.rotateSecret({ secret: 'live', graceSeconds: 600 }));
    expect(Date.parse(graced.secrets!.live.previousSecretExpiresAt!)).toBeLessThanOrEqual(Date.now() + 600_000);
    const immediate = await client.project.rotateSecret({ secret: 'live', graceSeconds: 0 });
    expect(immediate.secrets!.live.previousSecretExpiresAt).toBeNull();
    expect(await caught(client.project.rotateSecret({ secret: 'live', graceSeconds: 31 * 86_400 }))).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
  });

  it('a standard key: the project without secrets, and 403 FORBIDDEN (ADMIN_KEY_REQUIRED) for admin actions', async () => {
    const standard = new Banatie({ apiKey: (await stack.createKey('acme', 'site', { role: 'standard' })).key, baseUrl });
    const project = expectShape(projectSchema, await standard.project.get());
    expect(project.webhookSecret).toBeUndefined();
    expect(project.liveSigningSecret).toBeUndefined();
    expect(project.secrets).toBeUndefined();
    for (const refused of [
      standard.project.update({ stylePrompt: 'not allowed' }),
      standard.project.rotateSecret({ secret: 'webhook' }),
      standard.live.scopes.create({ slug: 'not-allowed' }),
    ]) {
      const err = await caught(refused);
      expect(err).toMatchObject({ code: 'FORBIDDEN', status: 403, message: 'This action requires an admin key', details: { reason: 'ADMIN_KEY_REQUIRED' } });
    }
    // What a standard key is for still works, signing live URLs on the server included.
    expect(await standard.live.signOnServer({ scope: 'hero', prompt: 'a signed kite' })).toMatch(/sig=/);
  });
});

describe('models', () => {
  it('lists the allowed models; a generation takes model, imageSize and groundWithSearch', async () => {
    const models = (await client.models.list()).map((m) => expectShape(modelSchema, m));
    expect(models.map((m) => [m.id, m.default])).toEqual([
      ['gemini-2.5-flash-image', true],
      ['gemini-3-pro-image-preview', false],
      ['gemini-3.1-flash-image-preview', false],
    ]);
    const created = await client.generations.create({ prompt: 'sdk 2K', model: 'gemini-3-pro-image-preview', imageSize: '2K', groundWithSearch: true, autoEnhance: false });
    const done = expectShape(generationSchema, await terminal(created.generation.id));
    expect(done).toMatchObject({ status: 'success', model: 'gemini-3-pro-image-preview', imageSize: '2K', groundWithSearch: true });
    expect(done.outputImage).toMatchObject({ width: 2048, height: 2048 });
  });
});

describe('batches', () => {
  it('create, get, list and cancel round-trip; a bad item is a 400 naming its index', async () => {
    const batch = expectShape(batchSchema, await client.batches.create({ items: [{ prompt: 'sdk batch a', autoEnhance: false }, { prompt: 'sdk batch b', autoEnhance: false }] }));
    expect(batch.counts.total).toBe(2);
    for (const id of batch.generationIds) expect((await terminal(id)).batchId).toBe(batch.id);
    let read = await client.batches.get(batch.id);
    // The completion is recorded just after the last item's status: read until it shows.
    while (read.status !== 'completed') read = await client.batches.get(batch.id);
    expect(read.counts.success).toBe(2);
    expect((await client.batches.list({ limit: 1 })).data[0]!.id).toBe(batch.id);
    expect(await caught(client.batches.cancel(batch.id))).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect(await caught(client.batches.create({ items: [{ prompt: 'ok' }, { prompt: 'x', aspectRatio: '1:9' as '1:1' }] }))).toMatchObject({
      code: 'VALIDATION_ERROR',
      status: 400,
      message: 'items[1]: aspectRatio: Invalid aspect ratio',
    });
  });
});

describe('typed errors', () => {
  it('404 NOT_FOUND with the request id', async () => {
    const err = await caught(client.generations.get(randomUUID()));
    expect(err).toMatchObject({ name: 'BanatieError', code: 'NOT_FOUND', status: 404, message: 'Generation not found' });
    expect(err.requestId).toMatch(/\S+/);
  });

  it('400 VALIDATION_ERROR with the server message and details', async () => {
    // @ts-expect-error an aspect ratio the contract does not allow
    const err = await caught(client.generations.create({ prompt: 'x', aspectRatio: '7:3' }));
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR', status: 400, message: 'Invalid aspect ratio' });
    expect(err.details).toEqual([expect.objectContaining({ path: 'aspectRatio', message: 'Invalid aspect ratio' })]);
  });

  it('401 UNAUTHORIZED for a bad key', async () => {
    const stranger = new Banatie({ apiKey: `bnt_${'x'.repeat(40)}`, baseUrl });
    expect(await caught(stranger.project.get())).toMatchObject({ code: 'UNAUTHORIZED', status: 401, message: 'Invalid or missing API key' });
  });

  it('409 CONFLICT passes through', async () => {
    const { generation } = await client.generations.create({ prompt: 'finished' }, { wait: 20 });
    expect(await caught(client.generations.cancel(generation.id))).toMatchObject({ code: 'CONFLICT', status: 409 });
  });

  it('NETWORK_ERROR when nothing listens', async () => {
    const offline = new Banatie({ apiKey: stack.key.key, baseUrl: 'http://127.0.0.1:1' });
    const err = await caught(offline.project.get());
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
    expect(err.cause).toBeDefined();
  });

  it('webhook attempts of an unknown generation are a 404 too', async () => {
    expect(await caught(client.generations.webhooks(randomUUID()))).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('usage (SPEC §12)', () => {
  it('reads the project usage and the limits on the project, both matching the strict schemas', async () => {
    const done = await terminal((await client.generations.create({ prompt: 'usage through the sdk', flowId: null })).generation.id);
    expect(done.usage.providerCalls).toBeGreaterThan(0);
    const report = expectShape(usageReportSchema, await client.usage.get({ groupBy: 'model' }));
    expect(report.groups.map((g) => g.key)).toContain('local');
    expect(report.totals.generations).toBeGreaterThan(0);
    const day = expectShape(usageReportSchema, await client.usage.get({ from: '2000-01-01', to: '2000-01-01' }));
    expect(day.groups).toEqual([]);
    expect(await caught(client.usage.get({ from: 'soon' }))).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    const project = expectShape(projectSchema, await client.project.get());
    expect(project.limits).toMatchObject({ generationsPerDay: null, monthlyCostUsd: null, maxConcurrency: null });
  });
});
