import { createHash } from 'node:crypto';
import { MAX_VARIANT_SIDE, VARIANT_FITS, VARIANT_FORMATS } from '@banatie/contracts';
import type { ImageRow } from '@banatie/db';
import sharp from 'sharp';
import { MAX_UPLOAD_PIXELS, withinImageLimits } from './image-limits.js';

// libvips' operation cache keeps decoded images for identical operations; renders
// and uploads here never repeat one, and the cache holds up to 50 MB per process.
sharp.cache(false);
import { imageVariantPrefix } from './storage-keys.js';

export { MAX_VARIANT_SIDE, VARIANT_FITS, VARIANT_FORMATS };

type Fit = (typeof VARIANT_FITS)[number];
type Format = (typeof VARIANT_FORMATS)[number];

/** A rendition as requested (`?w&h&fit&format&q`); `v` is a cache key only and never changes the bytes. */
export interface VariantParams {
  w?: number;
  h?: number;
  fit?: Fit;
  format?: Format;
  q?: number;
  v?: string;
}

/** A rendition as it is made: clamped to the source, with every default filled in. */
export interface VariantPlan {
  w: number | null;
  h: number | null;
  fit: Fit;
  format: Format;
  /** null for PNG, whose encoding has no quality. */
  q: number | null;
}

type SourceImage = Pick<ImageRow, 'width' | 'height' | 'mime_type'>;

export const FORMAT_MIME: Record<Format, string> = { webp: 'image/webp', jpeg: 'image/jpeg', png: 'image/png', avif: 'image/avif' };
const MIME_FORMAT: Record<string, Format> = {
  'image/webp': 'webp',
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/avif': 'avif',
};

export const isVariantRequest = (p: VariantParams): boolean =>
  p.w !== undefined || p.h !== undefined || p.fit !== undefined || p.format !== undefined || p.q !== undefined;

const clampSide = (value: number, max: number): number => Math.min(max, Math.max(1, Math.round(value)));

/**
 * Never larger than the source: a single side is clamped to the source's; a box
 * (w and h) is scaled down as a whole until it fits inside the source, so the
 * requested shape is kept. Equivalent requests get the same plan (and so the
 * same stored variant): clamped sizes, fit only with a box, no quality for PNG.
 */
export function planVariant(image: SourceImage, p: VariantParams): VariantPlan {
  let w = p.w ?? null;
  let h = p.h ?? null;
  if (w !== null && h !== null) {
    const factor = Math.min(1, image.width / w, image.height / h);
    w = clampSide(w * factor, image.width);
    h = clampSide(h * factor, image.height);
  } else if (w !== null) {
    w = Math.min(w, image.width);
  } else if (h !== null) {
    h = Math.min(h, image.height);
  }
  const format = p.format ?? MIME_FORMAT[image.mime_type] ?? 'png';
  return { w, h, fit: w !== null && h !== null ? (p.fit ?? 'cover') : 'cover', format, q: format === 'png' ? null : (p.q ?? 80) };
}

/** Identity of a rendition: the source bytes (etag), the plan and the focal point that moves cover crops. */
export function variantId(image: Pick<ImageRow, 'etag' | 'focal_point'>, plan: VariantPlan): string {
  const fp = image.focal_point ? `${image.focal_point.x},${image.focal_point.y}` : 'c';
  return createHash('sha256').update(`${image.etag}|${plan.w}|${plan.h}|${plan.fit}|${plan.format}|${plan.q}|${fp}`).digest('hex').slice(0, 32);
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

/** Thrown instead of starting a resize whose intermediate would break the image limits (never reached with a clamped plan). */
export class VariantTooLargeError extends Error {
  constructor(width: number, height: number) {
    super(`Variant intermediate of ${width}×${height} is over the image limits`);
    this.name = 'VariantTooLargeError';
  }
}

function assertBounded(width: number, height: number): void {
  if (!withinImageLimits(width, height)) throw new VariantTooLargeError(width, height);
}

/**
 * The sizes a render goes through, computed before any pixel is touched: the
 * resized image (before a cover crop) and the output. Both stay within the source.
 */
export function variantGeometry(
  image: Pick<ImageRow, 'width' | 'height' | 'focal_point'>,
  plan: VariantPlan,
): { resize: { width: number; height: number } | null; crop: { left: number; top: number; width: number; height: number } | null } {
  if (plan.w !== null && plan.h !== null && plan.fit === 'cover' && image.focal_point) {
    const c = focalCoverCrop(image, { w: plan.w, h: plan.h }, image.focal_point);
    return { resize: { width: c.scaledWidth, height: c.scaledHeight }, crop: { left: c.left, top: c.top, width: plan.w, height: plan.h } };
  }
  if (plan.w === null && plan.h === null) return { resize: null, crop: null };
  const ratio = image.width / image.height;
  return { resize: { width: plan.w ?? Math.max(1, Math.round((plan.h ?? 0) * ratio)), height: plan.h ?? Math.max(1, Math.round((plan.w ?? 0) / ratio)) }, crop: null };
}

/** Renders a planned rendition; the source decode and every intermediate stay within the upload limits. */
export async function renderVariant(
  original: Buffer,
  image: Pick<ImageRow, 'width' | 'height' | 'focal_point'>,
  plan: VariantPlan,
): Promise<{ data: Buffer; mimeType: string }> {
  const geometry = variantGeometry(image, plan);
  if (geometry.resize) assertBounded(geometry.resize.width, geometry.resize.height);
  let pipeline = sharp(original, { limitInputPixels: MAX_UPLOAD_PIXELS }).rotate();
  if (geometry.crop && geometry.resize) {
    // One pipeline: sharp extracts after the resize when extract follows it.
    pipeline = pipeline.resize(geometry.resize.width, geometry.resize.height, { fit: 'fill' }).extract(geometry.crop);
  } else if (geometry.resize) {
    pipeline = pipeline.resize(plan.w ?? undefined, plan.h ?? undefined, {
      fit: plan.fit,
      withoutEnlargement: true,
      background: { r: 0, g: 0, b: 0, alpha: 0 },
    });
  }
  const data = await pipeline.toFormat(plan.format, plan.q === null ? {} : { quality: plan.q }).toBuffer();
  return { data, mimeType: FORMAT_MIME[plan.format] };
}

/** Where a rendition is cached: under the image's variant prefix, named by its variant id. */
export function variantKey(image: Pick<ImageRow, 'project_id' | 'id' | 'etag' | 'focal_point' | 'width' | 'height' | 'mime_type'>, p: VariantParams): string {
  return variantKeyOf(image, variantId(image, planVariant(image, p)));
}

export const variantKeyOf = (image: Pick<ImageRow, 'project_id' | 'id'>, id: string): string => `${imageVariantPrefix(image.project_id, image.id)}${id}`;

/** ETag a request would get, without reading bytes (for If-None-Match). */
export function deliveredEtag(image: ImageRow, p: VariantParams): string {
  return isVariantRequest(p) ? `"${variantId(image, planVariant(image, p))}"` : image.etag;
}
