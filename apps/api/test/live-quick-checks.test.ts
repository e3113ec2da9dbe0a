import { livePublicParams, livePublicQuery } from '@banatie/contracts';
import { describe, expect, it } from 'vitest';
import { quickLivePublicParams, quickLivePublicQuery } from '../src/routes/cdn/live-quick-checks.js';

// The public live URL is checked by hand on every HIT and by zod only when the
// quick check refuses: the quick check must never accept what zod refuses, and
// must return what zod would return for what it accepts.
function expectAgreesWithZod<T>(quick: (data: Record<string, unknown>) => T | undefined, schema: { safeParse(data: unknown): { success: boolean; data?: unknown } }, data: Record<string, unknown>): T | undefined {
  const fast = quick(data);
  const zod = schema.safeParse(data);
  if (!zod.success) expect(fast, JSON.stringify(data)).toBeUndefined();
  else if (fast !== undefined) expect(fast, JSON.stringify(data)).toEqual(zod.data);
  return fast;
}

describe('quick checks of the public live URL', () => {
  it('agree with the zod schema on the query, and accept every usual HIT', () => {
    const accepted = [
      { prompt: 'a lighthouse' },
      { prompt: '  a lighthouse \n at dawn  ' },
      { prompt: 'x', aspectRatio: '16:9', autoEnhance: 'false', template: 'photorealistic' },
      { prompt: 'x', autoEnhance: '1' },
      { prompt: 'x', autoEnhance: '0' },
      { prompt: 'x', autoEnhance: 'true' },
      { prompt: 'x', exp: '1999999999', sig: 'abc' },
      { prompt: 'p'.repeat(4000) },
    ];
    for (const q of accepted) expect(expectAgreesWithZod(quickLivePublicQuery, livePublicQuery, q), JSON.stringify(q)).toBeDefined();

    const refused = [
      {},
      { prompt: '' },
      { prompt: '   ' },
      { prompt: 'p'.repeat(4001) },
      { prompt: 'a\u0000b' },
      { prompt: ['a', 'b'] },
      { prompt: 'x', aspectRatio: '7:3' },
      { prompt: 'x', autoEnhance: 'maybe' },
      { prompt: 'x', autoEnhance: 'toString' },
      { prompt: 'x', template: 'baroque' },
      { prompt: 'x', template: 'constructor' },
      { prompt: 'x', size: 'big' },
      { prompt: 'x', exp: '1'.repeat(21) },
      { prompt: 'x', sig: 's'.repeat(201) },
      { prompt: 'x', aspectRatio: ['1:1', '1:1'] },
    ];
    for (const q of refused) expect(expectAgreesWithZod(quickLivePublicQuery, livePublicQuery, q), JSON.stringify(q)).toBeUndefined();
  });

  it('agree with the zod schema on the path parameters', () => {
    for (const p of [
      { org: 'acme', project: 'site', scope: 'hero' },
      { org: 'a'.repeat(64), project: 'b'.repeat(64), scope: 'A-z_0'.repeat(12) },
    ]) {
      expect(expectAgreesWithZod(quickLivePublicParams, livePublicParams, p)).toEqual(p);
    }
    for (const p of [
      { org: 'a'.repeat(65), project: 'site', scope: 'hero' },
      { org: 'acme', project: 'b'.repeat(65), scope: 'hero' },
      { org: 'acme', project: 'site', scope: 'bad scope' },
      { org: 'acme', project: 'site', scope: 's'.repeat(65) },
      { org: 'acme', project: 'site', scope: '' },
    ]) {
      expect(expectAgreesWithZod(quickLivePublicParams, livePublicParams, p)).toBeUndefined();
    }
  });
});
