import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageMetadata } from '../src/image-metadata.js';

const pixels = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: { r: 10, g: 20, b: 30 } } });

describe('readImageMetadata', () => {
  it('reads a PNG from its IHDR chunk, as sharp does', async () => {
    const png = await pixels(300, 170).png().toBuffer();
    const meta = await sharp(png).metadata();
    expect(await readImageMetadata(png, 'application/octet-stream')).toEqual({ width: meta.width, height: meta.height, mimeType: 'image/png' });
    expect(meta).toMatchObject({ width: 300, height: 170 });
  });

  it('reads other formats through sharp', async () => {
    const jpeg = await pixels(64, 48).jpeg().toBuffer();
    expect(await readImageMetadata(jpeg, 'image/png')).toEqual({ width: 64, height: 48, mimeType: 'image/jpeg' });
  });

  it('rejects bytes that are not an image', async () => {
    await expect(readImageMetadata(Buffer.from('not an image at all, not even close'), 'image/png')).rejects.toThrow();
  });
});
