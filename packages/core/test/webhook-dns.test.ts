// The webhook host lookup (SPEC §14 "no hangs"): c-ares queries with a deadline,
// off libuv's threadpool (which sharp's image work uses), with localhost and the
// hosts file answered as getaddrinfo would, and every address still checked.
import { lookup as getaddrinfo } from 'node:dns/promises';
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeDns, type FakeDns } from '@banatie/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookHostUnresolvedError, WebhookUrlRefusedError, checkWebhookUrl, createDnsLookup, webhookService } from '../src/index.js';

let dns: FakeDns;
const dir = mkdtempSync(join(tmpdir(), 'banatie-hosts-'));
const hostsFile = join(dir, 'hosts');

beforeAll(async () => {
  dns = await startFakeDns(
    {
      'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
      'v6only.example': ['2606:4700:4700::1111'],
      'internal.example': ['10.20.30.40'],
      'mixed.example': ['93.184.215.14', 'fd00::1'],
    },
    { silent: ['blackhole.example'] },
  );
  writeFileSync(hostsFile, '# test hosts\n127.0.0.1 localhost\n10.9.9.9 receiver.internal # comment\n93.184.215.14 pinned.example\n');
});

afterAll(async () => {
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lookupVia = (timeoutMs = 400) => createDnsLookup({ servers: [dns.server], hostsFile, timeoutMs });

describe('webhook host lookup', () => {
  it('returns every A and AAAA address of a host', async () => {
    expect(await lookupVia()('Public.Example.')).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
    expect(await lookupVia()('v6only.example')).toEqual([{ address: '2606:4700:4700::1111', family: 6 }]);
    expect(dns.questions).toEqual(expect.arrayContaining(['public.example A', 'public.example AAAA']));
  });

  it('a DNS server that never answers: the lookup ends by its deadline and the host counts as unresolved', async () => {
    const lookup = lookupVia(300);
    await expect(lookup('blackhole.example')).rejects.toThrow();
    expect(dns.questions).toContain('blackhole.example A');
    // Delivery retries later; submit accepts the URL (DNS may be late).
    await expect(checkWebhookUrl('https://blackhole.example/hook', { allowPrivate: false, lookup })).rejects.toBeInstanceOf(WebhookHostUnresolvedError);
    await expect(webhookService.assertWebhookUrlAllowed('https://blackhole.example/hook', { allowPrivate: false, lookup })).resolves.toBeUndefined();
  });

  it('an unknown name is unresolved', async () => {
    await expect(checkWebhookUrl('https://nowhere.example/hook', { allowPrivate: false, lookup: lookupVia() })).rejects.toBeInstanceOf(
      WebhookHostUnresolvedError,
    );
  });

  it('every resolved address is checked: a private one anywhere in the answer refuses the URL', async () => {
    const lookup = lookupVia();
    for (const url of ['https://internal.example/hook', 'https://mixed.example/hook']) {
      await expect(checkWebhookUrl(url, { allowPrivate: false, lookup }), url).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    }
    const checked = await checkWebhookUrl('https://public.example/hook', { allowPrivate: false, lookup });
    expect({ address: checked.address, family: checked.family }).toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('localhost names are loopback without asking DNS, and refused', async () => {
    const lookup = lookupVia();
    const before = dns.questions.length;
    for (const url of ['http://localhost/hook', 'http://LOCALHOST./hook', 'http://api.localhost:8080/hook']) {
      await expect(checkWebhookUrl(url, { allowPrivate: false, lookup }), url).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    }
    expect(dns.questions.length).toBe(before);
    expect((await checkWebhookUrl('http://localhost:9/hook', { allowPrivate: true, lookup })).address).toBe('127.0.0.1');
  });

  it('names in the hosts file are answered from it and checked like any other', async () => {
    const lookup = lookupVia();
    await expect(checkWebhookUrl('http://receiver.internal/hook', { allowPrivate: false, lookup })).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    expect((await checkWebhookUrl('https://pinned.example/hook', { allowPrivate: false, lookup })).address).toBe('93.184.215.14');
    expect(dns.questions.some((q) => q.startsWith('receiver.internal') || q.startsWith('pinned.example'))).toBe(false);
  });

  it("does not wait behind a busy threadpool, where getaddrinfo does", async () => {
    const finished: string[] = [];
    const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    // Every threadpool thread busy for a while (as sharp keeps them under load).
    const busy = Array.from({ length: size }, () =>
      new Promise<void>((resolve) => pbkdf2('x', 'salt', 400_000, 32, 'sha512', () => resolve())).then(() => finished.push('threadpool job')),
    );
    const ours = lookupVia(5000)('public.example').then(() => finished.push('createDnsLookup'));
    const system = getaddrinfo('localhost').then(() => finished.push('dns.lookup'));
    await Promise.all([...busy, ours, system]);
    expect(finished[0]).toBe('createDnsLookup');
    // The control: getaddrinfo queued behind the busy threads.
    expect(finished.indexOf('dns.lookup')).toBeGreaterThan(finished.indexOf('threadpool job'));
  });
});
