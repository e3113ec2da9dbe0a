// Rotating the webhook signing secret with a grace period (SPEC §16): the new
// secret signs from the rotation on, the replaced one keeps signing next to it
// until the grace period ends, and a delivery first sent before the rotation
// verifies, when retried, with whichever secret the receiver has. Verified
// with the standardwebhooks library, as receivers do.
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '@banatie/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '20' } });
});
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

/** The stack's key is an admin key. */
const asAdmin = () => ({ 'x-api-key': stack.key.key });

async function project(): Promise<any> {
  const res = await stack.app.inject({ method: 'GET', url: '/api/v1/project', headers: asAdmin() });
  expect(res.statusCode).toBe(200);
  return res.json().data;
}

async function rotate(payload: Record<string, unknown>) {
  return stack.app.inject({ method: 'POST', url: '/api/v1/project/secrets/rotate', headers: asAdmin(), payload });
}

async function submit(path: string): Promise<string> {
  const res = await stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers: asAdmin(), payload: { prompt: `webhook ${path}`, webhookUrl: `${receiver.url}${path}` } });
  expect(res.statusCode, res.body).toBe(202);
  return res.json().data.id;
}

function headersOf(call: ReceivedWebhook): Record<string, string> {
  const h = call.headers;
  return { 'webhook-id': String(h['webhook-id']), 'webhook-timestamp': String(h['webhook-timestamp']), 'webhook-signature': String(h['webhook-signature']) };
}

/** What a receiver holding `secret` concludes: the parsed event, or null when it rejects the delivery. */
function verifiedWith(secret: string, call: ReceivedWebhook): { data: { id: string } } | null {
  try {
    return new Webhook(secret).verify(call.body, headersOf(call)) as { data: { id: string } };
  } catch {
    return null;
  }
}

const signatureCount = (call: ReceivedWebhook) => String(call.headers['webhook-signature']).split(' ').length;

describe('webhook secret rotation', () => {
  it('a delivery signed before a rotation and retried after it verifies with the old secret and with the new one', async () => {
    const old = (await project()).webhookSecret as string;
    let rotated!: () => void;
    // The first attempt is answered (500) only once the rotation is done, so the retry is certainly sent after it.
    receiver.script({ status: 500, after: new Promise<void>((resolve) => (rotated = resolve)) });
    const id = await submit('/retried');

    const [first] = await receiver.waitFor(1, '/retried');
    expect(signatureCount(first!)).toBe(1);
    expect(verifiedWith(old, first!)?.data.id).toBe(id);

    const res = await rotate({ secret: 'webhook', graceSeconds: 3600 });
    expect(res.statusCode, res.body).toBe(200);
    const fresh = res.json().data.webhookSecret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    const expiresAt = Date.parse(res.json().data.secrets.webhook.previousSecretExpiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 3500_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
    rotated();

    const [, retry] = await receiver.waitFor(2, '/retried');
    expect(retry!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(signatureCount(retry!)).toBe(2);
    // A receiver not yet reconfigured (old secret) and one already reconfigured (new secret) both accept it.
    expect(verifiedWith(old, retry!)?.data.id).toBe(id);
    expect(verifiedWith(fresh, retry!)?.data.id).toBe(id);
    expect(verifiedWith('whsec_' + Buffer.from('some other secret').toString('base64'), retry!)).toBeNull();
    // The first attempt, signed before the rotation, never carried the new secret's signature.
    expect(verifiedWith(fresh, first!)).toBeNull();
  });

  it('once the grace period is over only the new secret signs', async () => {
    const old = (await project()).webhookSecret as string;
    const res = await rotate({ secret: 'webhook', graceSeconds: 1 });
    const fresh = res.json().data.webhookSecret as string;
    expect(res.json().data.secrets.webhook.previousSecretExpiresAt).toEqual(expect.any(String));
    // Wait for the expiry as the API reports it, not for a guessed time.
    while ((await project()).secrets.webhook.previousSecretExpiresAt !== null) await new Promise((r) => setTimeout(r, 100));

    const id = await submit('/after-grace');
    const [call] = await receiver.waitFor(1, '/after-grace');
    expect(signatureCount(call!)).toBe(1);
    expect(verifiedWith(fresh, call!)?.data.id).toBe(id);
    expect(verifiedWith(old, call!)).toBeNull();
  });

  it('rotating again during a grace period keeps only the secret it replaced', async () => {
    const first = (await project()).webhookSecret as string;
    const second = (await rotate({ secret: 'webhook', graceSeconds: 3600 })).json().data.webhookSecret as string;
    const third = (await rotate({ secret: 'webhook', graceSeconds: 3600 })).json().data.webhookSecret as string;
    const id = await submit('/twice');
    const [call] = await receiver.waitFor(1, '/twice');
    expect(signatureCount(call!)).toBe(2);
    expect(verifiedWith(third, call!)?.data.id).toBe(id);
    expect(verifiedWith(second, call!)?.data.id).toBe(id);
    expect(verifiedWith(first, call!)).toBeNull();
  });

  it('graceSeconds 0 ends the old secret at once; rotating one kind leaves the other alone', async () => {
    const before = await project();
    const res = await rotate({ secret: 'webhook', graceSeconds: 0 });
    const after = res.json().data;
    expect(after.secrets.webhook.previousSecretExpiresAt).toBeNull();
    expect(after.liveSigningSecret).toBe(before.liveSigningSecret);
    expect(after.secrets.live).toEqual(before.secrets.live);
    const id = await submit('/no-grace');
    const [call] = await receiver.waitFor(1, '/no-grace');
    expect(signatureCount(call!)).toBe(1);
    expect(verifiedWith(after.webhookSecret, call!)?.data.id).toBe(id);
    expect(verifiedWith(before.webhookSecret, call!)).toBeNull();
  });

  it.each([
    [{ secret: 'webhook', graceSeconds: -1 }, 'graceSeconds must be from 0 to 2592000'],
    [{ secret: 'webhook', graceSeconds: 2_592_001 }, 'graceSeconds must be from 0 to 2592000'],
    [{ secret: 'webhook', graceSeconds: 1.5 }, 'graceSeconds must be an integer'],
    [{ secret: 'webhook', graceSeconds: '60' }, 'graceSeconds must be a number'],
    [{ secret: 'webhook', graceSeconds: null }, 'graceSeconds must be a number'],
    [{ secret: 'both' }, 'secret must be "webhook" or "live"'],
    [{ graceSeconds: 60 }, 'secret must be "webhook" or "live"'],
  ])('refuses %j with 400 and rotates nothing', async (payload, message) => {
    const before = await project();
    const res = await rotate(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'VALIDATION_ERROR', message });
    const after = await project();
    expect([after.webhookSecret, after.liveSigningSecret]).toEqual([before.webhookSecret, before.liveSigningSecret]);
  });

  it('the default grace period is one day', async () => {
    const res = await rotate({ secret: 'webhook' });
    const expiresAt = Date.parse(res.json().data.secrets.webhook.previousSecretExpiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 86_000_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000);
  });
});
