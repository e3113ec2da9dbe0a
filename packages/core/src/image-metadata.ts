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
