import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(async () => stack?.close());

const countRows = async () => {
  const g = await stack.db.selectFrom('generations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const f = await stack.db.selectFrom('flows').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { generations: Number(g.n), flows: Number(f.n) };
};

const post = (payload: string, contentType = 'application/json') =>
  stack.app.inject({
    method: 'POST',
    url: '/api/v1/generations',
    headers: { 'x-api-key': stack.key.key, 'content-type': contentType },
    payload,
  });

const cases: Array<[string, string, number, string, string | RegExp, string?]> = [
  ['missing prompt', '{}', 400, 'VALIDATION_ERROR', 'Prompt is required'],
  ['empty prompt', '{"prompt":""}', 400, 'VALIDATION_ERROR', 'Prompt is required'],
  ['whitespace prompt', '{"prompt":"   \\n\\t "}', 400, 'VALIDATION_ERROR', 'Prompt is required'],
  ['4001-char prompt', JSON.stringify({ prompt: 'x'.repeat(4001) }), 400, 'VALIDATION_ERROR', /at most 4000/],
  ['prompt not a string', '{"prompt":42}', 400, 'VALIDATION_ERROR', /Prompt/],
  ['bad aspect ratio', '{"prompt":"a","aspectRatio":"7:3"}', 400, 'VALIDATION_ERROR', 'Invalid aspect ratio'],
  ['aspect ratio wrong type', '{"prompt":"a","aspectRatio":169}', 400, 'VALIDATION_ERROR', 'Invalid aspect ratio'],
  ['unknown field', '{"prompt":"a","assignAlias":"@x"}', 400, 'VALIDATION_ERROR', /assignAlias/],
  ['autoEnhance wrong type', '{"prompt":"a","autoEnhance":"yes"}', 400, 'VALIDATION_ERROR', /autoEnhance/],
  ['referenceImages wrong type', '{"prompt":"a","referenceImages":"@x"}', 400, 'VALIDATION_ERROR', /referenceImages/],
  ['four references', '{"prompt":"a","referenceImages":["@a","@b","@c","@d"]}', 400, 'VALIDATION_ERROR', /At most 3/],
  ['bad template', '{"prompt":"a","enhancementOptions":{"template":"oil"}}', 400, 'VALIDATION_ERROR', 'Invalid template'],
  ['flowId not a uuid', '{"prompt":"a","flowId":"abc"}', 400, 'VALIDATION_ERROR', /flowId/],
  ['bad alias', '{"prompt":"a","alias":"hero"}', 400, 'VALIDATION_ERROR', /alias/i],
  ['reserved alias', '{"prompt":"a","alias":"@last"}', 400, 'VALIDATION_ERROR', /reserved/],
  ['flowAlias without flow', '{"prompt":"a","flowId":null,"flowAlias":"@x"}', 400, 'VALIDATION_ERROR', /flowAlias/],
  ['meta not an object', '{"prompt":"a","meta":[1]}', 400, 'VALIDATION_ERROR', /meta/],
  ['meta over 16 KB', JSON.stringify({ prompt: 'a', meta: { x: 'y'.repeat(17_000) } }), 400, 'VALIDATION_ERROR', /16 KB/],
  ['webhookUrl not http', '{"prompt":"a","webhookUrl":"ftp://x.example"}', 400, 'VALIDATION_ERROR', /webhookUrl/],
  ['non-JSON body', 'prompt=a', 400, 'VALIDATION_ERROR', /JSON/],
  ['JSON array body', '["a"]', 400, 'VALIDATION_ERROR', /.+/],
  ['JSON null body', 'null', 400, 'VALIDATION_ERROR', /.+/],
  ['text/plain body', 'a lighthouse', 415, 'UNSUPPORTED_MEDIA_TYPE', /Content-Type/, 'text/plain'],
  ['unknown flowId', '{"prompt":"a","flowId":"00000000-0000-4000-8000-000000000000"}', 404, 'NOT_FOUND', 'Flow not found'],
  ['unknown reference image', '{"prompt":"a","referenceImages":["@nobody"]}', 404, 'NOT_FOUND', 'Image not found'],
];

describe('every bad input gets its exact status and code, and nothing is stored', () => {
  it.each(cases)('%s', async (_name, payload, status, code, message, contentType) => {
    const before = await countRows();
    const res = await post(payload, contentType);
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body.success).toBe(false);
    expect(body.error.code).toBe(code);
    if (typeof message === 'string') expect(body.error.message).toBe(message);
    else expect(body.error.message).toMatch(message);
    expect(await countRows()).toEqual(before);
  });

  it('bad query parameters on lists are 400', async () => {
    for (const q of ['limit=0', 'limit=101', 'offset=-1', 'status=done', 'flowId=x', 'limit=abc', 'includeDeleted=maybe', 'nope=1']) {
      const res = await stack.app.inject({ method: 'GET', url: `/api/v1/generations?${q}`, headers: { 'x-api-key': stack.key.key } });
      expect(res.statusCode, q).toBe(400);
      expect(res.json().error.code, q).toBe('VALIDATION_ERROR');
    }
  });

  it('unknown and malformed generation ids are 404 Generation not found', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1' or '1'='1"]) {
      const res = await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${encodeURIComponent(id)}`, headers: { 'x-api-key': stack.key.key } });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toEqual({ code: 'NOT_FOUND', message: 'Generation not found' });
    }
  });

  it('unknown routes are a JSON 404', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
