import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, generateAndWait, png, upload } from './image-helpers.js';

let stack: Stack;
let key: string;
beforeAll(async () => {
  stack = await startStack({ storage: 'fs', provider: 'local' });
  key = (await stack.createKey('acme', 'aliases')).key;
});
afterAll(async () => stack?.close());

const generate = (body: Record<string, unknown>) => generateAndWait(stack, body, key);
const uploadTo = async (fields: Record<string, string>) => {
  const res = await upload(stack, fields, { data: await png(8, 8, { r: Math.floor(Math.random() * 255), g: 1, b: 2 }) }, key);
  expect(res.statusCode).toBe(201);
  return res.json().data;
};
const resolve = (alias: string, flowId?: string) =>
  call(stack, 'GET', `/api/v1/images/resolve/${encodeURIComponent(alias)}${flowId ? `?flowId=${flowId}` : ''}`, undefined, key);

describe('alias resolution: technical → flow → project', () => {
  let flowId: string;
  let g1: any, g2: any, g3: any, mascot: any, logo: any, flowLogo: any, flowUpload: any, lastUpload: any;

  beforeAll(async () => {
    g1 = await generate({ prompt: 'first in flow' });
    flowId = g1.flowId;
    logo = await uploadTo({ alias: '@logo', flowId: 'null' });
    g2 = await generate({ prompt: 'second in flow', flowId });
    flowUpload = await uploadTo({ flowId });
    flowLogo = await uploadTo({ flowId, flowAlias: '@logo' });
    g3 = await generate({ prompt: 'outside any flow', flowId: null });
    mascot = await uploadTo({ alias: '@mascot', flowId: 'null' });
    lastUpload = await uploadTo({ flowId: 'null' });
  });

  it('a project alias resolves in project scope without a flow', async () => {
    const res = await resolve('@logo');
    expect(res.statusCode).toBe(200);
    expect(res.json().data.image.id).toBe(logo.id);
    expect(res.json().data.resolution).toEqual({ alias: '@logo', scope: 'project', flowId: null });
  });

  it('a flow alias shadows the project alias of the same name inside its flow', async () => {
    const res = await resolve('@logo', flowId);
    expect(res.json().data.image.id).toBe(flowLogo.id);
    expect(res.json().data.resolution).toEqual({ alias: '@logo', scope: 'flow', flowId });
    expect(res.json().data.image.flowAliases).toEqual(['@logo']);
  });

  it('inside a flow, a name the flow does not define falls through to the project', async () => {
    const res = await resolve('@mascot', flowId);
    expect(res.json().data.image.id).toBe(mascot.id);
    expect(res.json().data.resolution.scope).toBe('project');
  });

  it('technical aliases inside a flow: @last, @first (generated), @upload (uploaded)', async () => {
    const ids = await Promise.all(['@last', '@first', '@upload'].map(async (a) => (await resolve(a, flowId)).json().data));
    expect(ids.map((d) => d.image.id)).toEqual([g2.outputImageId, g1.outputImageId, flowLogo.id]);
    expect(ids.map((d) => d.resolution.scope)).toEqual(['technical', 'technical', 'technical']);
    expect(ids[0].resolution.flowId).toBe(flowId);
    expect(flowUpload.id).not.toBe(flowLogo.id);
  });

  it('technical aliases outside a flow span the project', async () => {
    const ids = await Promise.all(['@last', '@first', '@upload'].map(async (a) => (await resolve(a)).json().data));
    expect(ids.map((d) => d.image.id)).toEqual([g3.outputImageId, g1.outputImageId, lastUpload.id]);
    expect(ids[0].resolution).toEqual({ alias: '@last', scope: 'technical', flowId: null });
  });

  it('technical aliases cannot be shadowed: they are reserved for assignment', async () => {
    const res = await call(stack, 'PUT', `/api/v1/flows/${flowId}/aliases`, { aliases: { '@last': logo.id } }, key);
    expect([res.statusCode, res.json().error.message]).toEqual([400, 'Alias @last is reserved']);
    const put = await call(stack, 'PUT', `/api/v1/images/${logo.id}`, { alias: '@upload' }, key);
    expect([put.statusCode, put.json().error.message]).toEqual([400, 'Alias @upload is reserved']);
  });

  it('unknown alias → 404 Image not found; unknown or foreign flowId → 404 Flow not found', async () => {
    const a = await resolve('@nobody');
    expect([a.statusCode, a.json().error]).toEqual([404, { code: 'NOT_FOUND', message: 'Image not found' }]);
    const b = await resolve('@logo', '00000000-0000-4000-8000-000000000000');
    expect([b.statusCode, b.json().error.message]).toEqual([404, 'Flow not found']);
    const c = await resolve('@logo', 'not-a-uuid');
    expect([c.statusCode, c.json().error.message]).toEqual([404, 'Flow not found']);
  });

  it('a generation resolves references in its flow: explicit, prompt aliases, flow shadowing, warnings', async () => {
    const res = await call(stack, 'POST', '/api/v1/generations', { prompt: 'a poster with @logo and @ghost, mail me@example.com', flowId, referenceImages: ['@last'], autoEnhance: false }, key, { prefer: 'wait=30' });
    const data = res.json().data;
    expect(data.referenceImages).toEqual([
      { imageId: g2.outputImageId, alias: '@last' },
      { imageId: flowLogo.id, alias: '@logo' },
    ]);
    expect(data.warnings).toEqual(['Alias @ghost in the prompt did not resolve to an image and was left as text']);
    expect(data.status).toBe('success');
    const outside = await call(stack, 'POST', '/api/v1/generations', { prompt: 'a poster with @logo', flowId: null }, key);
    expect(outside.json().data.referenceImages).toEqual([{ imageId: logo.id, alias: '@logo' }]);
    expect(outside.json().data.warnings).toEqual([]);
  });

  it('duplicates are removed; more than the model limit of 3 distinct references → 400 naming the model', async () => {
    const dup = await call(stack, 'POST', '/api/v1/generations', { prompt: '@logo @logo', referenceImages: ['@logo', logo.id], flowId: null }, key);
    expect(dup.statusCode).toBe(202);
    expect(dup.json().data.referenceImages).toEqual([{ imageId: logo.id, alias: '@logo' }]);
    const four = await call(stack, 'POST', '/api/v1/generations', { prompt: 'with @mascot and @upload', referenceImages: ['@logo', '@last'], flowId: null }, key);
    expect([four.statusCode, four.json().error.message]).toEqual([400, 'At most 3 reference images are allowed for model gemini-2.5-flash-image']);
    const explicitUnknown = await call(stack, 'POST', '/api/v1/generations', { prompt: 'x', referenceImages: ['@ghost'] }, key);
    expect([explicitUnknown.statusCode, explicitUnknown.json().error.message]).toEqual([404, 'Image not found']);
  });
});

describe('assigning aliases', () => {
  it('PUT alias: 409 ALIAS_CONFLICT when another image holds it; null frees it; same image is a no-op', async () => {
    const a = await uploadTo({ flowId: 'null' });
    const b = await uploadTo({ flowId: 'null' });
    expect((await call(stack, 'PUT', `/api/v1/images/${a.id}/alias`, { alias: '@taken' }, key)).statusCode).toBe(200);
    expect((await call(stack, 'PUT', `/api/v1/images/${a.id}/alias`, { alias: '@taken' }, key)).statusCode).toBe(200);
    const conflict = await call(stack, 'PUT', `/api/v1/images/${b.id}`, { alias: '@taken' }, key);
    expect([conflict.statusCode, conflict.json().error]).toEqual([409, { code: 'ALIAS_CONFLICT', message: 'Alias already exists' }]);
    const freed = await call(stack, 'PUT', `/api/v1/images/${a.id}/alias`, { alias: null }, key);
    expect(freed.json().data.alias).toBeNull();
    const now = await call(stack, 'PUT', `/api/v1/images/${b.id}/alias`, { alias: '@taken' }, key);
    expect([now.statusCode, now.json().data.alias]).toEqual([200, '@taken']);
  });

  it('two concurrent assignments of the same alias: one wins, the other is 409', async () => {
    const imgs = await Promise.all([uploadTo({ flowId: 'null' }), uploadTo({ flowId: 'null' }), uploadTo({ flowId: 'null' })]);
    const results = await Promise.all(imgs.map((i) => call(stack, 'PUT', `/api/v1/images/${i.id}/alias`, { alias: '@race' }, key)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409]);
    const holders = await stack.db.selectFrom('images').select('id').where('alias', '=', '@race').execute();
    expect(holders).toHaveLength(1);
  });

  it('concurrent takeovers by uploads leave exactly one holder, the alias never errors', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => uploadTo({ alias: '@hot', flowId: 'null' })));
    const holders = await stack.db.selectFrom('images').select('id').where('alias', '=', '@hot').execute();
    expect(holders).toHaveLength(1);
    expect(results.map((r) => r.id)).toContain(holders[0]!.id);
  });

  it.each([
    ['no @', 'logo'],
    ['too long', `@${'a'.repeat(51)}`],
    ['bad character', '@lo go'],
    ['leading dash', '@-x'],
  ])('format: %s → 400', async (_n, alias) => {
    const img = await uploadTo({ flowId: 'null' });
    const res = await call(stack, 'PUT', `/api/v1/images/${img.id}/alias`, { alias }, key);
    expect([res.statusCode, res.json().error.code]).toEqual([400, 'VALIDATION_ERROR']);
  });

  it('generation alias and flowAlias take over from previous holders', async () => {
    const held = await uploadTo({ alias: '@hero', flowId: 'null' });
    const g = await generate({ prompt: 'new hero', alias: '@hero', flowAlias: '@main' });
    expect(g.outputImage.alias).toBe('@hero');
    expect(g.outputImage.flowAliases).toEqual(['@main']);
    expect((await call(stack, 'GET', `/api/v1/images/${held.id}`, undefined, key)).json().data.alias).toBeNull();
    const g2 = await generate({ prompt: 'newer main', flowId: g.flowId, flowAlias: '@main' });
    const flow = (await call(stack, 'GET', `/api/v1/flows/${g.flowId}`, undefined, key)).json().data;
    expect(flow.aliases).toEqual({ '@main': g2.outputImageId });
  });
});
