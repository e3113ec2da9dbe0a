import { withinImageLimits } from './image-limits.js';

/**
 * Uncompressed Windows bitmaps (24- or 32-bit BI_RGB/BI_BITFIELDS with the usual
 * masks), which libvips cannot read: the form a model answering BMP uses.
 * Returns null for anything else (including other BMP variants).
 */
export function decodeBmp(data: Buffer): { pixels: Buffer; width: number; height: number; channels: 3 } | null {
  if (data.length < 54 || data.toString('latin1', 0, 2) !== 'BM') return null;
  const offset = data.readUInt32LE(10);
  const headerSize = data.readUInt32LE(14);
  if (headerSize < 40) return null;
  const width = data.readInt32LE(18);
  const rawHeight = data.readInt32LE(22);
  const bpp = data.readUInt16LE(28);
  const compression = data.readUInt32LE(30);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0 || (bpp !== 24 && bpp !== 32) || (compression !== 0 && compression !== 3)) return null;
  const bytesPerPixel = bpp / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  // Checked before allocating: a header may claim any size.
  if (!withinImageLimits(width, height) || offset + stride * height > data.length) return null;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = offset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const src = row + x * bytesPerPixel;
      const dst = (y * width + x) * 3;
      pixels[dst] = data[src + 2]!;
      pixels[dst + 1] = data[src + 1]!;
      pixels[dst + 2] = data[src]!;
    }
  }
  return { pixels, width, height, channels: 3 };
}
