// Rotating the live-URL signing secret with a grace period (SPEC §16): a URL
// signed with the replaced secret still starts a generation (a MISS in a scope
// that requires signatures) until the grace period ends, then is refused with
// 403 SIGNATURE_INVALID; the new secret works throughout.
import { signLiveUrl } from '@banatie/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

/** Long enough for one request right after the rotation on a busy machine; the test waits it out by polling. */
const GRACE_SECONDS = 5;
let stack: Stack;
let ip = 0;

beforeAll(async () => {
  stack = await startStack();
  const scope = await stack.app.inject({ method: 'POST', url: '/api/v1/live/scopes', headers: { 'x-api-key': stack.key.key }, payload: { slug: 'signed', requireSignature: true } });
  expect(scope.statusCode, scope.body).toBe(201);
});
afterAll(async () => {
  await stack?.close();
});

async function project(): Promise<any> {
  return (await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: { 'x-api-key': stack.key.key } })).json().data;
}

const signed = (prompt: string, secret: string) => signLiveUrl(`http://cdn.test/cdn/acme/site/live/signed?prompt=${encodeURIComponent(prompt)}`, secret).slice('http://cdn.test'.length);
const get = (url: string) => stack.app.inject({ method: 'GET', url, remoteAddress: `10.2.0.${++ip}` });
const generationsFor = async (prompt: string) =>
  (await stack.db.selectFrom('generations').select('id').where('original_prompt', '=', prompt).execute()).length;

describe('live signing secret rotation', () => {
  it('an old signed URL works during the grace period and is refused with SIGNATURE_INVALID after it', async () => {
    const old = (await project()).liveSigningSecret as string;
    const duringGrace = signed('a harbour at night, during the grace period', old);
    const afterGrace = signed('a harbour at night, after the grace period', old);

    const rotated = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/project/secrets/rotate',
      headers: { 'x-api-key': stack.key.key },
      payload: { secret: 'live', graceSeconds: GRACE_SECONDS },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const fresh = rotated.json().data.liveSigningSecret as string;
    expect(fresh).not.toBe(old);
    expect(rotated.json().data.secrets.live.previousSecretExpiresAt).toEqual(expect.any(String));

    // During the grace period: the old secret's URL starts its generation, the new secret's too.
    const during = await get(duringGrace);
    expect(during.statusCode, during.body).toBe(200);
    expect(during.headers['x-cache-status']).toBe('MISS');
    const withNew = await get(signed('a lighthouse, signed with the new secret', fresh));
    expect(withNew.statusCode, withNew.body).toBe(200);

    // Wait for the end of the grace period as the API reports it.
    while ((await project()).secrets.live.previousSecretExpiresAt !== null) await new Promise((r) => setTimeout(r, 100));

    const after = await get(afterGrace);
    expect(after.statusCode, after.body).toBe(403);
    expect(after.headers['cache-control']).toBe('no-store');
    expect(after.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN', message: 'Invalid live URL signature' } });
    expect(await generationsFor('a harbour at night, after the grace period')).toBe(0);

    // The same URL signed with the new secret works; the image made during the grace period is still served (a HIT checks no signature).
    const resigned = await get(signed('a harbour at night, after the grace period', fresh));
    expect(resigned.statusCode, resigned.body).toBe(200);
    const hit = await get(duringGrace);
    expect(hit.statusCode).toBe(200);
    expect(hit.headers['x-cache-status']).toBe('HIT');
  });

  it('graceSeconds 0: the old secret is refused at once', async () => {
    const old = (await project()).liveSigningSecret as string;
    const url = signed('a windmill, signed just before the rotation', old);
    const rotated = await stack.app.inject({
      method: 'POST',
      url: '/api/v1/project/secrets/rotate',
      headers: { 'x-api-key': stack.key.key },
      payload: { secret: 'live', graceSeconds: 0 },
    });
    expect(rotated.json().data.secrets.live.previousSecretExpiresAt).toBeNull();
    const res = await get(url);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toBe('Invalid live URL signature');
  });

  it('POST /live/sign signs with the current secret, also during a grace period', async () => {
    await stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: { 'x-api-key': stack.key.key }, payload: { secret: 'live', graceSeconds: 3600 } });
    const current = (await project()).liveSigningSecret as string;
    const res = await stack.app.inject({ method: 'POST', url: '/api/v1/live/sign', headers: { 'x-api-key': stack.key.key }, payload: { scope: 'signed', prompt: 'a kite' } });
    const url = new URL(res.json().data.url);
    expect(url.searchParams.get('sig')).toBe(new URL(signLiveUrl(url, current)).searchParams.get('sig'));
  });
});
