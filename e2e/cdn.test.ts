// CDN variants across processes (SPEC §11): two compiled API processes render
// an identical variant once, and share the variant cap and the per-IP allowance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { ApiProcess } from './helpers/processes.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const CONCURRENT = 20;
const ALLOWANCE = CONCURRENT + 5;

describe('CDN variants with two API processes', () => {
  let stack: TestStack;
  let apis: ApiProcess[];
  let image: { id: string; url: string; versionedUrl: string };

  beforeAll(async () => {
    stack = await startTestStack({
      apis: 2,
      workers: 0,
      key: 'acme/cdn',
      env: { CDN_VARIANTS_PER_IMAGE: '3', CDN_VARIANT_MISS_PER_IP_PER_HOUR: String(ALLOWANCE) },
    });
    apis = stack.apis;
    const png = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#3366cc' } }).png().toBuffer();
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'cdn.png');
    const res = await fetch(`${stack.api.url}/api/v1/images/upload`, { method: 'POST', headers: { 'x-api-key': stack.key.key }, body: form });
    expect(res.status).toBe(201);
    image = ((await res.json()) as { data: typeof image }).data;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const variant = (api: ApiProcess, query: string) => fetch(`${api.url}${new URL(image.url).pathname}${query}`);
  async function renders(): Promise<number> {
    let total = 0;
    for (const api of apis) {
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      total += Number(/^banatie_cdn_variant_renders_total (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
    }
    return total;
  }

  it(`${CONCURRENT} concurrent identical misses on both APIs render once; all get the same bytes`, async () => {
    expect(await renders()).toBe(0);
    const responses = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const res = await variant(apis[i % 2]!, '?w=120&h=120&fit=cover&format=webp');
        return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
      }),
    );
    for (const r of responses) expect([r.status, r.type]).toEqual([200, 'image/webp']);
    expect(new Set(responses.map((r) => r.body.toString('base64'))).size).toBe(1);
    expect(await renders()).toBe(1);
  });

  it('the variant cap and the per-IP allowance are shared by both APIs', async () => {
    // One variant is stored: two more fit under the cap of 3, on different APIs.
    expect((await variant(apis[0]!, '?w=50')).status).toBe(200);
    expect((await variant(apis[1]!, '?w=60')).status).toBe(200);
    const refused = await variant(apis[0]!, '?w=70');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('VARIANT_LIMIT');
    expect(await renders()).toBe(3);
    // The identical misses above used between 1 and CONCURRENT of the allowance (the others were hits), these 3 more.
    // Shared, the allowance ends within ALLOWANCE - 4 further misses; counted per process it would last 2× as long.
    const statuses: number[] = [];
    for (let w = 71; statuses.at(-1) !== 429 && statuses.length <= 2 * ALLOWANCE; w++) statuses.push((await variant(apis[w % 2]!, `?w=${w}`)).status);
    expect(statuses.length).toBeLessThanOrEqual(ALLOWANCE - 3);
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(statuses.length > 1 ? [400] : []));
    for (const api of apis) {
      const limited = await variant(api, '?w=200');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Stored variants are still served to the same client.
    expect((await variant(apis[1]!, '?w=50')).status).toBe(200);
    expect(await renders()).toBe(3);
  });
});
