import { createHash } from 'node:crypto';
import { MAX_VARIANT_SIDE, VARIANT_FITS, VARIANT_FORMATS } from '@banatie/contracts';
import type { ImageRow } from '@banatie/db';
import sharp from 'sharp';
import { ObjectNotFoundError, type ObjectStorage } from './ports.js';
import { imageVariantPrefix } from './storage-keys.js';

export { MAX_VARIANT_SIDE, VARIANT_FITS, VARIANT_FORMATS };

export interface VariantParams {
  w?: number;
  h?: number;
  fit?: (typeof VARIANT_FITS)[number];
  format?: (typeof VARIANT_FORMATS)[number];
  q?: number;
}

const FORMAT_MIME: Record<string, string> = { webp: 'image/webp', jpeg: 'image/jpeg', png: 'image/png', avif: 'image/avif' };
const MIME_FORMAT: Record<string, (typeof VARIANT_FORMATS)[number]> = {
  'image/webp': 'webp',
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/avif': 'avif',
};

export const isVariantRequest = (p: VariantParams): boolean => Object.values(p).some((v) => v !== undefined);

/** Canonical form: the same rendition always has the same key and ETag. */
function canonical(image: Pick<ImageRow, 'mime_type'>, p: VariantParams) {
  return {
    w: p.w ?? null,
    h: p.h ?? null,
    fit: p.fit ?? 'cover',
    format: p.format ?? MIME_FORMAT[image.mime_type] ?? 'png',
    q: p.q ?? 80,
  };
}

function variantId(image: Pick<ImageRow, 'etag' | 'focal_point' | 'mime_type'>, p: VariantParams): string {
  const c = canonical(image, p);
  const fp = image.focal_point ? `${image.focal_point.x},${image.focal_point.y}` : 'c';
  return createHash('sha256').update(`${image.etag}|${c.w}|${c.h}|${c.fit}|${c.format}|${c.q}|${fp}`).digest('hex').slice(0, 32);
}

/** Crop window of `w`×`h` around the focal point inside the image scaled to cover the box. */
export function focalCoverCrop(
  src: { width: number; height: number },
  box: { w: number; h: number },
  focal: { x: number; y: number },
): { scaledWidth: number; scaledHeight: number; left: number; top: number } {
  const scale = Math.max(box.w / src.width, box.h / src.height);
  const scaledWidth = Math.max(box.w, Math.round(src.width * scale));
  const scaledHeight = Math.max(box.h, Math.round(src.height * scale));
  const clamp = (v: number, max: number) => Math.min(Math.max(0, Math.round(v)), max);
  return {
    scaledWidth,
    scaledHeight,
    left: clamp(focal.x * scaledWidth - box.w / 2, scaledWidth - box.w),
    top: clamp(focal.y * scaledHeight - box.h / 2, scaledHeight - box.h),
  };
}

export async function renderVariant(
  original: Buffer,
  image: Pick<ImageRow, 'width' | 'height' | 'focal_point' | 'mime_type'>,
  p: VariantParams,
): Promise<{ data: Buffer; mimeType: string }> {
  const c = canonical(image, p);
  let pipeline = sharp(original).rotate();
  if (c.w && c.h && c.fit === 'cover' && image.focal_point) {
    const crop = focalCoverCrop(image, { w: c.w, h: c.h }, image.focal_point);
    pipeline = sharp(await pipeline.resize(crop.scaledWidth, crop.scaledHeight, { fit: 'fill' }).toBuffer()).extract({
      left: crop.left,
      top: crop.top,
      width: c.w,
      height: c.h,
    });
  } else if (c.w || c.h) {
    pipeline = pipeline.resize(c.w ?? undefined, c.h ?? undefined, { fit: c.fit, background: { r: 0, g: 0, b: 0, alpha: 0 } });
  }
  const data = await pipeline.toFormat(c.format, c.format === 'png' ? {} : { quality: c.q }).toBuffer();
  return { data, mimeType: FORMAT_MIME[c.format]! };
}

/** Where a rendition is cached: under the image's variant prefix, named by its variant id. */
export function variantKey(image: Pick<ImageRow, 'project_id' | 'id' | 'etag' | 'focal_point' | 'mime_type'>, p: VariantParams): string {
  return `${imageVariantPrefix(image.project_id, image.id)}${variantId(image, p)}`;
}

export interface DeliveredImage {
  data: Buffer;
  mimeType: string;
  etag: string;
}

/** The original bytes, or a rendition made with sharp and cached in storage under the image's variant prefix. */
export async function loadDeliveredImage(storage: ObjectStorage, image: ImageRow, p: VariantParams): Promise<DeliveredImage> {
  if (!isVariantRequest(p)) return { data: await storage.get(image.storage_key), mimeType: image.mime_type, etag: image.etag };
  const key = variantKey(image, p);
  const etag = deliveredEtag(image, p);
  try {
    const stat = await storage.stat(key);
    if (stat) return { data: await storage.get(key), mimeType: stat.contentType, etag };
  } catch (err) {
    if (!(err instanceof ObjectNotFoundError)) throw err;
  }
  const rendered = await renderVariant(await storage.get(image.storage_key), image, p);
  await storage.put(key, rendered.data, rendered.mimeType);
  return { ...rendered, etag };
}

/** ETag a request would get, without reading bytes (for If-None-Match). */
export function deliveredEtag(image: ImageRow, p: VariantParams): string {
  return isVariantRequest(p) ? `"${variantId(image, p)}"` : image.etag;
}
