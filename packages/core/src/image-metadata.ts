import sharp, { type Metadata, type Sharp } from 'sharp';
import { decodeBmp } from './bmp.js';
import { ProviderError } from './errors.js';
import { MAX_UPLOAD_PIXELS, withinImageLimits } from './image-limits.js';

export interface ImageMetadata {
  width: number;
  height: number;
  mimeType: string;
}

const FORMAT_MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heif: 'image/heif',
};

/** The only types a generated output is stored as (SPEC §11); anything else becomes PNG. */
const STORED_MIME = new Set(['image/png', 'image/jpeg', 'image/webp']);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG's dimensions straight from its IHDR chunk (always first); null when the bytes are not a PNG. */
function pngDimensions(data: Buffer): { width: number; height: number } | null {
  if (data.length < 24 || !data.subarray(0, 8).equals(PNG_SIGNATURE) || data.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : null;
}

/** Reads dimensions and type from the bytes' header (no full decode). */
export async function readImageMetadata(data: Buffer, fallbackMime: string): Promise<ImageMetadata> {
  // PNG (what Gemini answers) is read here: sharp's metadata call showed as ~7 % of the worker's CPU.
  const png = pngDimensions(data);
  if (png) return { ...png, mimeType: 'image/png' };
  const meta = await sharp(data).metadata();
  if (!meta.width || !meta.height) throw new Error('Image has no dimensions');
  return { width: meta.width, height: meta.height, mimeType: (meta.format && FORMAT_MIME[meta.format]) || fallbackMime };
}

export interface StorableImage extends ImageMetadata {
  data: Buffer;
}

const unusable = (why: string, cause?: unknown) => new ProviderError('NO_IMAGE', `The model returned an image that cannot be stored (${why})`, false, { cause });

/**
 * A model's output as it may be stored: PNG, JPEG or WebP by its bytes, within
 * the upload limits. Other types (GIF, BMP, TIFF, HEIC, AVIF…) are converted to
 * PNG; bytes that are no image, or too large, fail the generation (NO_IMAGE, not retried).
 */
export async function storableImage(data: Buffer): Promise<StorableImage> {
  const png = pngDimensions(data);
  if (png) {
    if (!withinImageLimits(png.width, png.height)) throw unusable(`${png.width}×${png.height} is over the size limits`);
    return { data, ...png, mimeType: 'image/png' };
  }
  const bmp = decodeBmp(data);
  if (bmp) return toPng(sharp(bmp.pixels, { raw: { width: bmp.width, height: bmp.height, channels: bmp.channels } }), bmp);
  let meta: Metadata;
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw unusable('not a readable image', err);
  }
  const size = { width: meta.width ?? 0, height: meta.height ?? 0 };
  if (!withinImageLimits(size.width, size.height)) throw unusable(`${size.width}×${size.height} is over the size limits`);
  const mimeType = meta.format ? FORMAT_MIME[meta.format] : undefined;
  if (mimeType && STORED_MIME.has(mimeType)) return { data, ...size, mimeType };
  return toPng(sharp(data, { limitInputPixels: MAX_UPLOAD_PIXELS }), size);
}

async function toPng(image: Sharp, size: { width: number; height: number }): Promise<StorableImage> {
  try {
    const { data, info } = await image.rotate().png().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, mimeType: 'image/png' };
  } catch (err) {
    throw unusable(`${size.width}×${size.height} could not be converted`, err);
  }
}
