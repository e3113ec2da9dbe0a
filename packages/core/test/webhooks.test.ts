import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import {
  WEBHOOK_RETRY_WINDOW_MS,
  webhookAttempts,
  webhookBaseDelayMs,
  webhookRetryDelayMs,
} from '@banatie/queue';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WebhookHostUnresolvedError,
  WebhookUrlRefusedError,
  checkWebhookUrl,
  isPublicAddress,
  sendWebhook,
  signWebhook,
  webhookMessageId,
  webhookService,
} from '../src/index.js';

const GENERATION_ID = '6f1c2d8e-4b7a-4c1e-9f3d-2a5b8c7d9e01';

describe('Standard Webhooks signing', () => {
  it('signs the published test vector to the expected value', () => {
    const headers = signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      new Date(1614265330 * 1000),
      '{"test": 2432232314}',
    );
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('produces headers the standardwebhooks library verifies', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = JSON.stringify({ type: 'generation.succeeded', data: { id: GENERATION_ID } });
    const headers = signWebhook(secret, 'msg_x', new Date(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook('whsec_' + Buffer.from('another secret').toString('base64')).verify(body, headers)).toThrow();
  });
});

describe('signing with several secrets (a rotation\'s grace period)', () => {
  it('puts one v1 signature per secret in webhook-signature, and the library accepts each secret', () => {
    const current = 'whsec_' + Buffer.from('the new secret, 24 bytes!').toString('base64');
    const previous = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = JSON.stringify({ type: 'generation.succeeded', data: { id: GENERATION_ID } });
    const at = new Date();
    const headers = signWebhook([current, previous], 'msg_x', at, body);
    expect(headers['webhook-signature']!.split(' ')).toEqual([signWebhook(current, 'msg_x', at, body)['webhook-signature'], signWebhook(previous, 'msg_x', at, body)['webhook-signature']]);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook('whsec_' + Buffer.from('another secret').toString('base64')).verify(body, headers)).toThrow();
  });
});

describe('webhook ids and retry schedule', () => {
  it('derives a stable webhook-id per generation, run and event', () => {
    const a = webhookMessageId({ generationId: GENERATION_ID, run: 0, event: 'generation.succeeded' });
    expect(a).toBe(webhookMessageId({ generationId: GENERATION_ID, run: 0, event: 'generation.succeeded' }));
    expect(a).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
    expect(webhookMessageId({ generationId: GENERATION_ID, run: 1, event: 'generation.succeeded' })).not.toBe(a);
    expect(webhookMessageId({ generationId: GENERATION_ID, run: 0, event: 'generation.failed' })).not.toBe(a);
  });

  it('grows exponentially with jitter inside [50 %, 100 %] of the base delay', () => {
    expect([1, 2, 3, 4].map((n) => webhookBaseDelayMs(n, 5000))).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(webhookRetryDelayMs(3, 5000, () => 0)).toBe(10_000);
    expect(webhookRetryDelayMs(3, 5000, () => 1)).toBe(20_000);
    const seen = new Set(Array.from({ length: 20 }, () => webhookRetryDelayMs(5, 5000)));
    expect(seen.size).toBeGreaterThan(1);
  });

  it.each([5000, 10, 60_000])('keeps retrying for at least 24 h with base %i ms, even with the shortest jitter', (base) => {
    const retries = webhookAttempts(base) - 1;
    let shortest = 0;
    for (let n = 1; n <= retries; n++) shortest += webhookRetryDelayMs(n, base, () => 0);
    expect(shortest).toBeGreaterThanOrEqual(WEBHOOK_RETRY_WINDOW_MS);
  });
});

describe('SSRF guard', () => {
  const refused = [
    'http://127.0.0.1/hook',
    'http://127.1.2.3/hook',
    'http://localhost/hook',
    'http://10.0.0.5/hook',
    'http://172.16.3.4/hook',
    'http://192.168.1.1/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://169.254.10.10/hook',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    'http://[::1]/hook',
    'http://[fc00::1]/hook',
    'http://[fd12:3456::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:169.254.169.254]/hook',
    'http://[::ffff:10.0.0.1]/hook',
    // IPv4-compatible IPv6 (::/96), as written and as the URL parser rewrites it.
    'http://[::127.0.0.1]/',
    'http://[::7f00:1]/',
    'http://[0:0:0:0:0:0:7f00:1]/hook',
    'http://[::169.254.169.254]/hook',
    'http://[::a00:1]/hook',
    'http://[::8.8.8.8]/hook',
    'http://[::]/hook',
    // IPv4-mapped in its hexadecimal form, SIIT (::ffff:0:0:0/96), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4, Teredo.
    'http://[::ffff:7f00:1]/hook',
    'http://[::ffff:0:7f00:1]/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://[64:ff9b::808:808]/hook',
    'http://[64:ff9b:1::a00:1]/hook',
    'http://[2002:7f00:1::]/hook',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
    'http://2130706433/hook',
    'http://0x7f000001/hook',
    'http://0177.0.0.1/hook',
    'http://0x7f.1/hook',
  ];

  it.each(refused)('refuses %s', async (url) => {
    await expect(checkWebhookUrl(url, { allowPrivate: false })).rejects.toBeInstanceOf(WebhookUrlRefusedError);
  });

  it('refuses a hostname that resolves to 127.0.0.1, or to any private address among public ones', async () => {
    const lookup = async (host: string) =>
      host === 'evil.example' ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '93.184.215.14', family: 4 }, { address: '10.1.1.1', family: 4 }];
    await expect(checkWebhookUrl('https://evil.example/x', { allowPrivate: false, lookup })).rejects.toThrow(/private/);
    await expect(checkWebhookUrl('https://mixed.example/x', { allowPrivate: false, lookup })).rejects.toThrow(/private/);
  });

  it('refuses a hostname whose AAAA record is IPv4-compatible (::/96)', async () => {
    const lookup = async () => [{ address: '::7f00:1', family: 6 }];
    await expect(checkWebhookUrl('https://compat.example/x', { allowPrivate: false, lookup })).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    expect(isPublicAddress('::7f00:1')).toBe(false);
    expect(isPublicAddress('::808:808')).toBe(false);
    // Addresses that merely end like one stay public.
    expect(isPublicAddress('2606:4700::7f00:1')).toBe(true);
  });

  it('tells a host that does not resolve apart from a refused one; submit accepts it, delivery retries', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    await expect(checkWebhookUrl('https://nowhere.example/x', { allowPrivate: false, lookup })).rejects.toBeInstanceOf(WebhookHostUnresolvedError);
    await expect(webhookService.assertWebhookUrlAllowed('https://nowhere.example/x', { allowPrivate: false, lookup })).resolves.toBeUndefined();
    await expect(webhookService.assertWebhookUrlAllowed('http://127.0.0.1/x', { allowPrivate: false })).rejects.toMatchObject({ kind: 'invalid', code: 'VALIDATION_ERROR' });
  });

  it('refuses other schemes and junk', async () => {
    for (const url of ['ftp://example.com/x', 'file:///etc/passwd', 'gopher://1.2.3.4/', 'not a url', 'javascript:alert(1)']) {
      await expect(checkWebhookUrl(url, { allowPrivate: false })).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    }
  });

  it('passes public addresses and pins the address it checked', async () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('2606:4700:4700::1111')).toBe(true);
    const lookup = async () => [{ address: '93.184.215.14', family: 4 }];
    const checked = await checkWebhookUrl('https://receiver.example:8443/hook', { allowPrivate: false, lookup });
    expect({ address: checked.address, family: checked.family, host: checked.url.host }).toEqual({
      address: '93.184.215.14',
      family: 4,
      host: 'receiver.example:8443',
    });
  });

  it('allows private addresses only when told to', async () => {
    const checked = await checkWebhookUrl('http://127.0.0.1:9/hook', { allowPrivate: true });
    expect(checked.address).toBe('127.0.0.1');
  });
});

describe('sending', () => {
  let tcp: TcpServer;
  let tcpPort: number;
  let connections = 0;
  let http: Server;
  let httpPort: number;
  const hits: string[] = [];

  beforeAll(async () => {
    tcp = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as AddressInfo).port;
    http = createServer((req, res) => {
      hits.push(`${req.method} ${req.url} ${req.headers.host}`);
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${httpPort}/target` }).end();
      } else if (req.url === '/hang') {
        // never answers
      } else {
        res.writeHead(204).end();
      }
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpPort = (http.address() as AddressInfo).port;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    await new Promise((r) => tcp.close(r));
  });

  it('a loopback listener receives no connection for any refused form', async () => {
    const forms = [
      `http://127.0.0.1:${tcpPort}/`,
      `http://localhost:${tcpPort}/`,
      `http://2130706433:${tcpPort}/`,
      `http://0x7f000001:${tcpPort}/`,
      `http://0177.0.0.1:${tcpPort}/`,
      `http://[::ffff:127.0.0.1]:${tcpPort}/`,
      `http://[::1]:${tcpPort}/`,
    ];
    for (const url of forms) {
      const outcome = await checkWebhookUrl(url, { allowPrivate: false }).then(
        (target) => sendWebhook(target, {}, '{}'),
        (err: Error) => err,
      );
      expect(outcome, url).toBeInstanceOf(WebhookUrlRefusedError);
    }
    expect(connections).toBe(0);
  });

  it('connects to the pinned address without resolving the host again', async () => {
    const lookup = async () => [{ address: '127.0.0.1', family: 4 }];
    const target = await checkWebhookUrl(`http://rebind.invalid:${httpPort}/ok`, { allowPrivate: true, lookup });
    const result = await sendWebhook(target, { 'webhook-id': 'msg_1' }, '{}');
    expect(result).toMatchObject({ statusCode: 204, error: null });
    expect(hits).toContain(`POST /ok rebind.invalid:${httpPort}`);
  });

  it('does not follow redirects: a 3xx is a failed attempt and the target gets nothing', async () => {
    hits.length = 0;
    const target = await checkWebhookUrl(`http://127.0.0.1:${httpPort}/redirect`, { allowPrivate: true });
    const result = await sendWebhook(target, {}, '{}');
    expect(result.statusCode).toBe(302);
    expect(result.error).toMatch(/redirect/);
    expect(hits).toEqual([`POST /redirect 127.0.0.1:${httpPort}`]);
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const target = await checkWebhookUrl(`http://127.0.0.1:${httpPort}/hang`, { allowPrivate: true });
    const result = await sendWebhook(target, {}, '{}', 300);
    expect(result.statusCode).toBeNull();
    expect(result.error).toMatch(/timed out/);
  });
});
