import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, cdnPath, generateAndWait, png, storedKeys, upload } from './image-helpers.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  key = (await stack.createKey('acme', 'images')).key;
});
afterAll(async () => stack?.close());

const uploadTo = async (fields: Record<string, string>, apiKey = key) => {
  const res = await upload(stack, fields, { data: await png(16, 12) }, apiKey);
  expect(res.statusCode).toBe(201);
  return res.json().data;
};
const generate = (body: Record<string, unknown>) => generateAndWait(stack, body, key);

describe('images: list, get, update', () => {
  it('lists newest first, filtered by flowId, source and alias, paginated', async () => {
    const own = await stack.createKey('acme', 'listing-images');
    const a = await uploadTo({ alias: '@a' }, own.key);
    const b = await uploadTo({ flowId: a.flowId }, own.key);
    const c = await uploadTo({ flowId: 'null' }, own.key);
    const list = (q = '') => call(stack, 'GET', `/api/v1/images${q}`, undefined, own.key).then((r) => r.json());
    const all = await list();
    expect(all.data.map((i: any) => i.id)).toEqual([c.id, b.id, a.id]);
    expect(all.pagination).toEqual({ total: 3, limit: 20, offset: 0, hasMore: false });
    expect((await list(`?flowId=${a.flowId}`)).data.map((i: any) => i.id)).toEqual([b.id, a.id]);
    expect((await list('?alias=%40a')).data.map((i: any) => i.id)).toEqual([a.id]);
    expect((await list('?source=generated')).pagination.total).toBe(0);
    expect((await list('?source=uploaded&limit=2&offset=1')).data.map((i: any) => i.id)).toEqual([b.id, a.id]);
    const page = await list('?limit=1');
    expect(page.pagination).toEqual({ total: 3, limit: 1, offset: 0, hasMore: true });
    for (const [q, msg] of [['?source=drawn', 'source must be generated or uploaded'], ['?limit=500', 'limit must be between 1 and 100'], ['?colour=red', undefined]] as const) {
      const res = await call(stack, 'GET', `/api/v1/images${q}`, undefined, own.key);
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
      if (msg) expect(res.json().error.message).toBe(msg);
    }
  });

  it('get by id; malformed or unknown ids are 404 Image not found', async () => {
    const img = await uploadTo({ flowId: 'null' });
    expect((await call(stack, 'GET', `/api/v1/images/${img.id}`, undefined, key)).json().data).toEqual(img);
    for (const id of ['nope', '00000000-0000-4000-8000-000000000000']) {
      const res = await call(stack, 'GET', `/api/v1/images/${id}`, undefined, key);
      expect([res.statusCode, res.json().error]).toEqual([404, { code: 'NOT_FOUND', message: 'Image not found' }]);
    }
  });

  it('PUT sets focalPoint, meta and alias; null clears; bad values are 400 and change nothing', async () => {
    const img = await uploadTo({ flowId: 'null' });
    const put = await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.25, y: 1 }, meta: { caption: 'hi' }, alias: '@cover' }, key);
    expect(put.statusCode).toBe(200);
    expect(put.json().data).toMatchObject({ focalPoint: { x: 0.25, y: 1 }, meta: { caption: 'hi' }, alias: '@cover' });
    for (const body of [{ focalPoint: { x: 1.5, y: 0 } }, { focalPoint: { x: 0.5 } }, { colour: 'red' }, { meta: 'text' }, { meta: { a: '\u0000' } }, { alias: 7 }]) {
      const res = await call(stack, 'PUT', `/api/v1/images/${img.id}`, body, key);
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
    }
    const cleared = await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: null, alias: null }, key);
    expect(cleared.json().data).toMatchObject({ focalPoint: null, alias: null, meta: { caption: 'hi' } });
    const missing = await call(stack, 'PUT', '/api/v1/images/00000000-0000-4000-8000-000000000000/alias', { alias: '@x' }, key);
    expect(missing.statusCode).toBe(404);
  });
});

describe('DELETE /api/v1/images/:id: hard delete with every cascade', () => {
  it('frees aliases, nulls outputImageId, drops flow aliases and live entries, removes object and variants', async () => {
    const g = await generate({ prompt: 'to be deleted', alias: '@doomed', flowAlias: '@doomedInFlow' });
    const imageId = g.outputImageId;
    const projectId = g.projectId;
    // A second flow pointing at the same image through PUT /flows/:id/aliases.
    const other = await uploadTo({});
    await call(stack, 'PUT', `/api/v1/flows/${other.flowId}/aliases`, { aliases: { '@borrowed': imageId, '@own': other.id } }, key);
    // A live cache entry pointing at it (the live developer's table).
    const scope = await stack.db.insertInto('live_scopes').values({ project_id: projectId, slug: 'home', allowed_origins: '[]', meta: '{}' }).returning('id').executeTakeFirstOrThrow();
    await stack.db.insertInto('live_entries').values({ project_id: projectId, scope_id: scope.id, cache_key: 'k1', params: '{}', generation_id: g.id, image_id: imageId }).execute();
    // A cached variant.
    const variant = await stack.app.inject({ method: 'GET', url: `${cdnPath(g.outputImage.url)}?w=32&format=webp` });
    expect(variant.statusCode).toBe(200);
    const keysBefore = await storedKeys(stack);
    const ownKeys = keysBefore.filter((k) => k.includes(imageId));
    expect(ownKeys).toHaveLength(2);

    const del = await call(stack, 'DELETE', `/api/v1/images/${imageId}`, undefined, key);
    expect([del.statusCode, del.json()]).toEqual([200, { success: true, data: { id: imageId } }]);

    expect((await call(stack, 'GET', `/api/v1/images/${imageId}`, undefined, key)).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'GET', url: cdnPath(g.outputImage.url) })).statusCode).toBe(404);
    expect((await stack.app.inject({ method: 'GET', url: '/cdn/acme/images/img/%40doomed' })).statusCode).toBe(404);
    const gen = (await call(stack, 'GET', `/api/v1/generations/${g.id}`, undefined, key)).json().data;
    expect([gen.outputImageId, gen.outputImage, gen.status]).toEqual([null, null, 'success']);
    expect((await call(stack, 'GET', `/api/v1/flows/${g.flowId}`, undefined, key)).json().data.aliases).toEqual({});
    expect((await call(stack, 'GET', `/api/v1/flows/${other.flowId}`, undefined, key)).json().data.aliases).toEqual({ '@own': other.id });
    expect(await stack.db.selectFrom('live_entries').selectAll().where('cache_key', '=', 'k1').execute()).toEqual([]);
    const keysAfter = await storedKeys(stack);
    expect(keysAfter.filter((k) => k.includes(imageId))).toEqual([]);
    expect(keysAfter).toEqual(keysBefore.filter((k) => !ownKeys.includes(k)));
    // The alias is free again.
    const reuse = await call(stack, 'PUT', `/api/v1/images/${other.id}/alias`, { alias: '@doomed' }, key);
    expect(reuse.statusCode).toBe(200);
    expect((await call(stack, 'DELETE', `/api/v1/images/${imageId}`, undefined, key)).statusCode).toBe(404);
  });
});
