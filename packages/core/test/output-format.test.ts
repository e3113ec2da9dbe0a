import { encodeBmp } from '@banatie/testing';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../src/errors.js';
import { storableImage } from '../src/image-metadata.js';

const canvas = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 10, g: 120, b: 240 } } });

describe('storableImage', () => {
  it('PNG, JPEG and WebP are kept byte for byte', async () => {
    for (const data of [await canvas(20, 10).png().toBuffer(), await canvas(20, 10).jpeg().toBuffer(), await canvas(20, 10).webp().toBuffer()]) {
      const out = await storableImage(data);
      expect(out.data).toBe(data);
      expect([out.width, out.height]).toEqual([20, 10]);
    }
  });

  it('GIF, TIFF, AVIF and BMP become PNG with their size', async () => {
    const raw = await canvas(7, 5).raw().toBuffer();
    for (const data of [await canvas(7, 5).gif().toBuffer(), await canvas(7, 5).tiff().toBuffer(), await canvas(7, 5).avif().toBuffer(), encodeBmp(raw, 7, 5)]) {
      const out = await storableImage(data);
      expect([out.mimeType, out.width, out.height]).toEqual(['image/png', 7, 5]);
      const meta = await sharp(out.data).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 7, 5]);
    }
    const { data } = await storableImage(encodeBmp(raw, 7, 5));
    expect(Buffer.compare(await sharp(data).removeAlpha().raw().toBuffer(), raw)).toBe(0);
  });

  it('bytes that are no image, or an image over the upload limits, fail with NO_IMAGE (not retried)', async () => {
    const huge = await canvas(9000, 2).gif().toBuffer();
    for (const data of [Buffer.from('definitely not an image'), huge]) {
      const err = await storableImage(data).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect([(err as ProviderError).code, (err as ProviderError).retryable]).toEqual(['NO_IMAGE', false]);
    }
  });
});
