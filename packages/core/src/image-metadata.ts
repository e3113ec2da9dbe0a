import sharp from 'sharp';

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

/** Reads dimensions and type from the bytes' header (no full decode). */
export async function readImageMetadata(data: Buffer, fallbackMime: string): Promise<ImageMetadata> {
  const meta = await sharp(data).metadata();
  if (!meta.width || !meta.height) throw new Error('Image has no dimensions');
  return { width: meta.width, height: meta.height, mimeType: (meta.format && FORMAT_MIME[meta.format]) || fallbackMime };
}
