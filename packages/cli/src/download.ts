// Saving an image's bytes to a file, as the CDN returns them (no conversion).
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Image } from '@banatie/sdk';
import { CliError } from './command.js';

const EXTENSIONS: Record<string, string[]> = {
  'image/png': ['.png'],
  'image/jpeg': ['.jpg', '.jpeg'],
  'image/webp': ['.webp'],
  'image/avif': ['.avif'],
};

/** The usual file extension of a MIME type (`.png`), or `''`. */
export const extensionFor = (mimeType: string): string => EXTENSIONS[mimeType]?.[0] ?? '';

/** True when `path`'s extension is not one of `mimeType`'s (a `.png` name for JPEG bytes). */
export function extensionMismatch(path: string, mimeType: string): boolean {
  const known = EXTENSIONS[mimeType];
  return known !== undefined && !known.includes(extname(path).toLowerCase());
}

const isDirectory = async (path: string): Promise<boolean> => (await stat(path).catch(() => undefined))?.isDirectory() === true;

/**
 * Downloads `image.url` to `out` (a file, or a directory: `<id>.<ext>` in it).
 * Written to a temporary file first and renamed, so `out` never holds half an image.
 * Returns the path written.
 */
export async function downloadImage(image: Image, out: string, signal?: AbortSignal): Promise<string> {
  const path = (await isDirectory(out)) ? join(out, `${image.id}${extensionFor(image.mimeType)}`) : out;
  let res: Response;
  try {
    res = await fetch(image.url, { signal });
  } catch (err) {
    throw new CliError('DOWNLOAD_FAILED', `could not fetch ${image.url}: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new CliError('DOWNLOAD_FAILED', `GET ${image.url} answered HTTP ${res.status}`);
  }
  const partial = `${path}.${process.pid}.part`;
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(partial));
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw new CliError('WRITE_FAILED', `could not write ${path}: ${(err as Error).message}`);
  }
  return path;
}
