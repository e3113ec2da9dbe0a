// Bounded work per request (SPEC §11): at most 10 `@alias` tokens of a prompt
// are looked up, `PUT /flows/:id/aliases` takes at most 50 entries, and every
// list refuses an `offset` past 10,000.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { call, png, upload } from './image-helpers.js';

let stack: Stack;
let imageId: string;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  const res = await upload(stack, { alias: '@eleventh', flowId: 'null' }, { data: await png(8, 8) });
  expect(res.statusCode).toBe(201);
  imageId = res.json().data.id;
});

afterAll(async () => {
  await stack?.close();
});

describe('@alias tokens of a prompt', () => {
  it('the first 10 are looked up; an 11th that names a real image stays plain text, with a warning', async () => {
    const ghosts = Array.from({ length: 10 }, (_, i) => `@ghost${i}`);
    const res = await call(stack, 'POST', '/api/v1/generations', { prompt: `a collage of ${ghosts.join(' ')} and @eleventh`, autoEnhance: false, flowId: null });
    expect(res.statusCode).toBe(202);
    const data = res.json().data;
    expect(data.referenceImages).toEqual([]);
    expect(data.warnings).toHaveLength(11);
    expect(data.warnings.slice(0, 10)).toEqual(ghosts.map((g) => `Alias ${g} in the prompt did not resolve to an image and was left as text`));
    expect(data.warnings[10]).toBe('Only the first 10 aliases of a prompt are looked up; left as text: @eleventh');
    expect(data.prompt).toContain('@eleventh');
  });

  it('the same alias among the first 10 is looked up and used', async () => {
    const res = await call(stack, 'POST', '/api/v1/generations', { prompt: 'a poster of @eleventh @a @b @c @d @e @f @g @h @i @j', autoEnhance: false, flowId: null });
    expect(res.statusCode).toBe(202);
    expect(res.json().data.referenceImages).toEqual([{ imageId, alias: '@eleventh' }]);
  });

  it('repeated tokens count once; explicit references are not counted', async () => {
    const repeated = Array.from({ length: 30 }, () => '@ghost').join(' ');
    const res = await call(stack, 'POST', '/api/v1/generations', {
      prompt: `${repeated} @eleventh`,
      referenceImages: ['@eleventh'],
      autoEnhance: false,
      flowId: null,
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().data.referenceImages).toEqual([{ imageId, alias: '@eleventh' }]);
    expect(res.json().data.warnings).toEqual(['Alias @ghost in the prompt did not resolve to an image and was left as text']);
  });
});

describe('PUT /flows/:id/aliases', () => {
  const flowWithGeneration = async () => {
    const res = await call(stack, 'POST', '/api/v1/generations', { prompt: 'a flow of its own', autoEnhance: false });
    expect(res.statusCode).toBe(202);
    return res.json().data.flowId as string;
  };
  const aliases = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`@${prefix}${i}`, imageId]));

  it('takes 50 entries', async () => {
    const flowId = await flowWithGeneration();
    const res = await call(stack, 'PUT', `/api/v1/flows/${flowId}/aliases`, { aliases: aliases(50, 'ok') });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().data.aliases)).toHaveLength(50);
  });

  it('refuses 51 with 400 and stores none of them', async () => {
    const flowId = await flowWithGeneration();
    const res = await call(stack, 'PUT', `/api/v1/flows/${flowId}/aliases`, { aliases: aliases(51, 'many') });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'At most 50 aliases per request' });
    const flow = await call(stack, 'GET', `/api/v1/flows/${flowId}`);
    expect(flow.json().data.aliases).toEqual({});
  });
});

describe('list offset', () => {
  const lists = ['/api/v1/generations', '/api/v1/images', '/api/v1/flows', '/api/v1/live/scopes'];

  it.each(lists)('%s: offset 10000 answers, 10001 is 400', async (url) => {
    const ok = await call(stack, 'GET', `${url}?offset=10000`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().data).toEqual([]);
    const refused = await call(stack, 'GET', `${url}?offset=10001`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'VALIDATION_ERROR', message: 'offset must be ≤ 10000' });
  });

  it('a flow’s generations and images, and webhook attempts, too', async () => {
    const submitted = await call(stack, 'POST', '/api/v1/generations', { prompt: 'listed', autoEnhance: false });
    const { id, flowId } = submitted.json().data;
    for (const url of [`/api/v1/flows/${flowId}/generations`, `/api/v1/flows/${flowId}/images`, `/api/v1/generations/${id}/webhooks`]) {
      const refused = await call(stack, 'GET', `${url}?offset=99999999`);
      expect(refused.statusCode, url).toBe(400);
    }
  });
});
