import { CdnDelivery, ServiceUnavailableError, VariantTooLargeError, planVariant, renderVariant, variantGeometry, type ObjectStorage } from '@banatie/core';
import { imageRepository, imageVariantRepository } from '@banatie/db';
import { createSharedState } from '@banatie/queue';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPeerApp, startStack, type Stack } from './harness.js';
import { call, cdnPath, png, storedKeys, upload } from './image-helpers.js';

/** SPEC §11: CDN variants bounded in size, count, concurrency and per client. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    storage: 'fs',
    provider: 'local',
    worker: false,
    env: { CDN_VARIANTS_PER_IMAGE: '3', CDN_VARIANT_MISS_PER_IP_PER_HOUR: '6' },
  });
});
afterAll(async () => stack?.close());

let ipCounter = 0;
/** Each test its own client address, so the per-IP allowance of one does not leak into another. */
const freshIp = () => `203.0.113.${++ipCounter}`;

async function uploadPng(width: number, height: number): Promise<any> {
  const res = await upload(stack, { flowId: 'null' }, { data: await png(width, height) });
  expect(res.statusCode).toBe(201);
  return res.json().data;
}

const getVariant = (img: any, query: string, ip: string, app = stack.app) =>
  app.inject({ method: 'GET', url: `${cdnPath(img.url)}${query}`, remoteAddress: ip });
const variantKeys = async (img: any) => (await storedKeys(stack)).filter((k) => k.startsWith(`${img.projectId}/variants/${img.id}/`));
const dims = async (buf: Buffer) => {
  const m = await sharp(buf).metadata();
  return [m.width, m.height];
};

describe('variant sizes', () => {
  it('never upscales: a side beyond the source is clamped and maps to the same stored variant', async () => {
    const img = await uploadPng(200, 100);
    const ip = freshIp();
    const big = await getVariant(img, '?w=4096', ip);
    expect(big.statusCode).toBe(200);
    expect(await dims(big.rawPayload)).toEqual([200, 100]);
    const exact = await getVariant(img, '?w=200', ip);
    expect(exact.headers.etag).toBe(big.headers.etag);
    expect(await variantKeys(img)).toHaveLength(1);
    expect(await dims((await getVariant(img, '?h=4096', ip)).rawPayload)).toEqual([200, 100]);
  });

  it('a box larger than the source is scaled down whole, keeping the requested shape', async () => {
    const img = await uploadPng(200, 100);
    const ip = freshIp();
    const square = await getVariant(img, '?w=4096&h=4096&fit=cover', ip);
    expect(await dims(square.rawPayload)).toEqual([100, 100]);
    expect((await getVariant(img, '?w=100&h=100', ip)).headers.etag).toBe(square.headers.etag);
    expect(planVariant({ width: 200, height: 100, mime_type: 'image/png' }, { w: 300, h: 50, fit: 'contain' })).toEqual({
      w: 200,
      h: 33,
      fit: 'contain',
      format: 'png',
      q: null,
    });
  });

  it('a focal-point crop of a 1×2000 upload at w=4096&h=4096 stays within the source at every step', async () => {
    const img = await uploadPng(1, 2000);
    await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.5, y: 0.9 } });
    const res = await getVariant(img, '?w=4096&h=4096&fit=cover', freshIp());
    expect(res.statusCode).toBe(200);
    expect(await dims(res.rawPayload)).toEqual([1, 1]);
    const source = { width: 1, height: 2000, focal_point: { x: 0.5, y: 0.9 } };
    const geometry = variantGeometry(source, planVariant({ ...source, mime_type: 'image/png' }, { w: 4096, h: 4096 }));
    expect(geometry.resize!.width * geometry.resize!.height).toBeLessThanOrEqual(2000);
    // The renderer computes the intermediate size first: an unclamped plan is refused before sharp resizes anything.
    const unclamped = { w: 4096, h: 4096, fit: 'cover' as const, format: 'png' as const, q: null };
    expect(variantGeometry(source, unclamped).resize).toEqual({ width: 4096, height: 8_192_000 });
    await expect(renderVariant(await png(1, 2000), source, unclamped)).rejects.toBeInstanceOf(VariantTooLargeError);
  });
});

describe('variants per image', () => {
  it(`past CDN_VARIANTS_PER_IMAGE a new variant is 400 VARIANT_LIMIT, nothing is stored, existing ones are served`, async () => {
    const img = await uploadPng(120, 80);
    const ip = freshIp();
    for (const w of [10, 20, 30]) expect((await getVariant(img, `?w=${w}`, ip)).statusCode).toBe(200);
    const keys = await variantKeys(img);
    expect(keys).toHaveLength(3);
    const refused = await getVariant(img, '?w=40', ip);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('VARIANT_LIMIT');
    expect(await variantKeys(img)).toEqual(keys);
    expect((await getVariant(img, '?w=20', ip)).statusCode).toBe(200);
    // Another image has its own allowance.
    const other = await uploadPng(120, 80);
    expect((await getVariant(other, '?w=40', ip)).statusCode).toBe(200);
  });

  it('a reservation computed from an image that changed meanwhile takes no slot', async () => {
    const img = await uploadPng(50, 50);
    const row = (await imageRepository.findImage(stack.db, img.projectId, img.id))!;
    const slots = async () => (await imageVariantRepository.variantCount(stack.db, img.id, 'x')).total;
    expect(await imageVariantRepository.reserveVariant(stack.db, { ...row, etag: '"before-a-regeneration"' }, 'a', 16)).toBe('stale');
    expect(await imageVariantRepository.reserveVariant(stack.db, { ...row, focal_point: { x: 0.1, y: 0.2 } }, 'a', 16)).toBe('stale');
    expect(await slots()).toBe(0);
    expect(await imageVariantRepository.reserveVariant(stack.db, row, 'a', 16)).toBe('reserved');
    expect(await imageVariantRepository.reserveVariant(stack.db, row, 'a', 16)).toBe('registered');
    expect(await slots()).toBe(1);
  });

  it('a new focal point drops the stale renditions, and with them their slots', async () => {
    const img = await uploadPng(120, 80);
    const ip = freshIp();
    for (const w of [10, 20, 30]) await getVariant(img, `?w=${w}&h=${w}`, ip);
    expect((await getVariant(img, '?w=40&h=40', ip)).statusCode).toBe(400);
    await call(stack, 'PUT', `/api/v1/images/${img.id}`, { focalPoint: { x: 0.1, y: 0.1 } });
    expect(await variantKeys(img)).toEqual([]);
    expect((await getVariant(img, '?w=40&h=40', ip)).statusCode).toBe(200);
  });
});

describe('variant misses per client IP', () => {
  it('past CDN_VARIANT_MISS_PER_IP_PER_HOUR a miss is 429 with Retry-After; stored variants and other clients are still served', async () => {
    const img = await uploadPng(300, 300);
    const ip = freshIp();
    for (let w = 1; w <= 6; w++) expect((await getVariant(img, `?w=${w}&h=${w}`, ip)).statusCode).toBe(w <= 3 ? 200 : 400);
    const other = await uploadPng(300, 300);
    const before = await variantKeys(other);
    const refused = await getVariant(other, '?w=50', ip);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(await variantKeys(other)).toEqual(before);
    expect((await getVariant(img, '?w=1&h=1', ip)).statusCode).toBe(200);
    expect((await getVariant(other, '?w=50', freshIp())).statusCode).toBe(200);
  });

  it('the allowance holds across API instances, and so does the variant cap', async () => {
    const peer = await startPeerApp(stack);
    try {
      const img = await uploadPng(300, 300);
      const ip = freshIp();
      // Alternating instances: three stored (the cap), three refused by the cap, then the seventh miss is over the allowance.
      for (let w = 1; w <= 6; w++) expect((await getVariant(img, `?w=${w}`, ip, w % 2 ? peer.app : stack.app)).statusCode).toBe(w <= 3 ? 200 : 400);
      expect(await variantKeys(img)).toHaveLength(3);
      const other = await uploadPng(300, 300);
      expect((await getVariant(other, '?w=7', ip, peer.app)).statusCode).toBe(429);
      expect((await getVariant(other, '?w=7', ip, stack.app)).statusCode).toBe(429);
      expect(await variantKeys(other)).toEqual([]);
      // Concurrent distinct variants on both instances: the cap is never passed.
      const third = await uploadPng(300, 300);
      const burst = await Promise.all([11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((w, i) => getVariant(third, `?w=${w}`, freshIp(), i % 2 ? peer.app : stack.app)));
      expect(burst.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 400, 400, 400, 400, 400, 400, 400]);
      expect(await variantKeys(third)).toHaveLength(3);
    } finally {
      await peer.close();
    }
  });
});

describe('rendering', () => {
  it('identical concurrent misses on two API instances render once', async () => {
    const peer = await startPeerApp(stack);
    try {
      const img = await uploadPng(400, 300);
      const before = stack.deps.cdn.rendersStarted + peer.deps.cdn.rendersStarted;
      const responses = await Promise.all(
        Array.from({ length: 8 }, (_, i) => getVariant(img, '?w=64&format=webp', freshIp(), i % 2 ? peer.app : stack.app)),
      );
      expect(responses.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
      expect(new Set(responses.map((r) => r.rawPayload.toString('base64'))).size).toBe(1);
      expect(stack.deps.cdn.rendersStarted + peer.deps.cdn.rendersStarted - before).toBe(1);
      expect(await variantKeys(img)).toHaveLength(1);
      for (const instance of [stack, peer]) {
        const metrics = (await instance.app.inject({ method: 'GET', url: '/metrics' })).body;
        expect(metrics).toContain(`banatie_cdn_variant_renders_total ${instance.deps.cdn.rendersStarted}\n`);
        expect(metrics).toContain('banatie_cdn_renders{state="running"} 0');
      }
    } finally {
      await peer.close();
    }
  });

  it('past CDN_RENDER_CONCURRENCY and its short queue a render is refused with 503 at once', async () => {
    const img = await uploadPng(90, 90);
    const row = (await imageRepository.findImage(stack.db, img.projectId, img.id))!;
    // Source reads wait until the test lets them go, so renders stay in flight.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const real = stack.deps.storage;
    const storage: ObjectStorage = Object.assign(Object.create(real) as ObjectStorage, {
      get: async (key: string) => {
        if (key === row.storage_key) await held;
        return real.get(key);
      },
    });
    const cdn = new CdnDelivery({
      db: stack.db,
      storage,
      shared: createSharedState(stack.deps.redis, stack.config.queuePrefix),
      clock: stack.deps.clock,
      variantsPerImage: 16,
      renderConcurrency: 1,
      variantMissPerIpPerHour: 0,
    });
    // One running and two queued (the queue is two per render slot); the fourth is refused.
    const loads = [11, 12, 13, 14].map((w) => cdn.load(row, { w }, { ip: freshIp() }));
    const firstSettled = await Promise.race(loads.map((p, i) => p.then(() => ({ i, ok: true }), (err) => ({ i, ok: false, err }))));
    expect(firstSettled.ok).toBe(false);
    expect((firstSettled as { err: unknown }).err).toBeInstanceOf(ServiceUnavailableError);
    expect(((firstSettled as { err: ServiceUnavailableError }).err).retryAfterSeconds).toBeGreaterThan(0);
    expect(cdn.renderStats).toEqual({ running: 1, queued: 2 });
    letGo();
    const results = await Promise.allSettled(loads);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(cdn.rendersStarted).toBe(3);
  });
});
