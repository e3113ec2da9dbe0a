import { describe, expect, it } from 'vitest';
import {
  WeightedLru,
  clientAddressKey,
  liveCacheKey,
  liveCanonicalString,
  normalizeAllowedOrigin,
  originAllowed,
  requestOrigin,
  signLiveUrl,
  verifyLiveSignature,
} from '../src/index.js';

const base = { prompt: 'a lighthouse at dawn', aspectRatio: '16:9', autoEnhance: true, template: 'general', model: 'gemini-2.5-flash-image', imageSize: '1K' };

describe('live cache key', () => {
  it('ignores whitespace differences in the prompt only', () => {
    const key = liveCacheKey('p1', 'hero', base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(liveCacheKey('p1', 'hero', { ...base, prompt: '  a  lighthouse\n at\tdawn ' })).toBe(key);
    for (const other of [
      liveCacheKey('p2', 'hero', base),
      liveCacheKey('p1', 'other', base),
      liveCacheKey('p1', 'hero', { ...base, prompt: 'a lighthouse at dusk' }),
      liveCacheKey('p1', 'hero', { ...base, aspectRatio: '1:1' }),
      liveCacheKey('p1', 'hero', { ...base, autoEnhance: false }),
      liveCacheKey('p1', 'hero', { ...base, template: 'comic' }),
      liveCacheKey('p1', 'hero', { ...base, model: 'gemini-3-pro-image-preview' }),
      liveCacheKey('p1', 'hero', { ...base, model: 'gemini-3-pro-image-preview', imageSize: '2K' }),
    ]) {
      expect(other).not.toBe(key);
    }
  });
});

describe('live cache key and models (SPEC §13)', () => {
  it('keeps the key of an entry made before models were chosen: gemini-2.5-flash-image at 1K is left out', async () => {
    const { createHash } = await import('node:crypto');
    const legacy = createHash('sha256').update(JSON.stringify(['p1', 'hero', base.prompt, base.aspectRatio, base.autoEnhance, base.template])).digest('hex');
    expect(liveCacheKey('p1', 'hero', base)).toBe(legacy);
  });
});

describe('live signatures', () => {
  const secret = 'lss_test-secret';
  const now = new Date('2026-01-01T00:00:00Z');
  const params = (url: string) => [...new URL(url).searchParams];

  it('canonical string: path from /cdn/, parameters sorted and encoded, sig left out', () => {
    expect(liveCanonicalString('/prefix/cdn/a/b/live/s', [['prompt', 'a b&c'], ['aspectRatio', '16:9'], ['sig', 'x']])).toBe(
      '/cdn/a/b/live/s?aspectRatio=16%3A9&prompt=a%20b%26c',
    );
  });

  it('verifies what signLiveUrl signs, however the query is encoded or ordered', () => {
    const signed = signLiveUrl('https://x.test/cdn/a/b/live/s?prompt=a+b&aspectRatio=16:9', secret);
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params(signed), now)).toBe('valid');
    const sig = new URL(signed).searchParams.get('sig')!;
    const reordered = `https://x.test/cdn/a/b/live/s?aspectRatio=16%3A9&sig=${sig}&prompt=a%20b`;
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params(reordered), now)).toBe('valid');
  });

  it('missing, forged, tampered, duplicated and expired', () => {
    const signed = signLiveUrl('https://x.test/cdn/a/b/live/s?prompt=x', secret, { expiresAt: now.getTime() / 1000 + 60 });
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params('https://x.test/cdn/a/b/live/s?prompt=x'), now)).toBe('missing');
    expect(verifyLiveSignature('lss_other', '/cdn/a/b/live/s', params(signed), now)).toBe('invalid');
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/other', params(signed), now)).toBe('invalid');
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params(signed.replace('prompt=x', 'prompt=y')), now)).toBe('invalid');
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params(`${signed}&sig=abc`), now)).toBe('invalid');
    expect(verifyLiveSignature(secret, '/cdn/a/b/live/s', params(signed), new Date(now.getTime() + 61_000))).toBe('expired');
  });

  it('with several secrets (a rotation\'s grace period) accepts a signature made with any of them, and only those', () => {
    const previous = 'lss_previous';
    const byCurrent = signLiveUrl('https://x.test/cdn/a/b/live/s?prompt=x', secret);
    const byPrevious = signLiveUrl('https://x.test/cdn/a/b/live/s?prompt=x', previous, { expiresAt: now.getTime() / 1000 + 60 });
    expect(verifyLiveSignature([secret, previous], '/cdn/a/b/live/s', params(byCurrent), now)).toBe('valid');
    expect(verifyLiveSignature([secret, previous], '/cdn/a/b/live/s', params(byPrevious), now)).toBe('valid');
    expect(verifyLiveSignature([secret], '/cdn/a/b/live/s', params(byPrevious), now)).toBe('invalid');
    expect(verifyLiveSignature([secret, 'lss_other'], '/cdn/a/b/live/s', params(byPrevious), now)).toBe('invalid');
    // exp is still checked whichever secret signed.
    expect(verifyLiveSignature([secret, previous], '/cdn/a/b/live/s', params(byPrevious), new Date(now.getTime() + 61_000))).toBe('expired');
  });
});

describe('allowed origins', () => {
  it('normalises and refuses malformed entries', () => {
    expect(normalizeAllowedOrigin('HTTPS://Example.COM/')).toBe('https://example.com');
    expect(normalizeAllowedOrigin('https://example.com:443')).toBe('https://example.com');
    expect(normalizeAllowedOrigin('http://localhost:8080')).toBe('http://localhost:8080');
    expect(normalizeAllowedOrigin('https://*.example.com')).toBe('https://*.example.com');
    for (const bad of ['example.com', 'https://example.com/path', 'ftp://example.com', 'https://exa mple.com', 'https://*']) {
      expect(normalizeAllowedOrigin(bad)).toBeNull();
    }
  });

  it('matches Origin, else the Referer origin; wildcards match subdomains only', () => {
    expect(requestOrigin(undefined, 'https://a.example.com/page?q=1')).toBe('https://a.example.com');
    expect(requestOrigin('null', undefined)).toBeNull();
    expect(requestOrigin('not a url', undefined)).toBeNull();
    const allowed = ['https://example.com', 'https://*.partner.org'];
    expect(originAllowed(allowed, 'https://example.com')).toBe(true);
    expect(originAllowed(allowed, 'http://example.com')).toBe(false);
    expect(originAllowed(allowed, 'https://example.com:8443')).toBe(false);
    expect(originAllowed(allowed, 'https://cdn.partner.org')).toBe(true);
    expect(originAllowed(allowed, 'https://partner.org')).toBe(false);
    expect(originAllowed(allowed, 'https://evilpartner.org')).toBe(false);
  });
});

describe('WeightedLru', () => {
  it('evicts the least recently used past the byte budget and skips oversized values', () => {
    const lru = new WeightedLru<string, Buffer>(10, (b) => b.length);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.get('a');
    lru.set('c', Buffer.alloc(4));
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBeDefined();
    expect(lru.weight).toBe(8);
    lru.set('huge', Buffer.alloc(11));
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.weight).toBe(8);
  });
});

describe('per-IP limit key', () => {
  it('counts IPv4 addresses one by one and IPv6 by /64', () => {
    expect(clientAddressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:db8:1:2:bbbb::9')).toBe(clientAddressKey('2001:db8:1:2:aaaa::1'));
    expect(clientAddressKey('2001:db8:1:3::1')).not.toBe(clientAddressKey('2001:db8:1:2::1'));
  });
});
