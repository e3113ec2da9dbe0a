import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import type { Stack } from './harness.js';

export interface FilePart {
  field?: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** A multipart/form-data body built by hand, so tests control every byte (names, types, order). */
export function multipart(fields: Record<string, string>, file?: FilePart): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----banatie${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (file) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field ?? 'file'}"; filename="${file.filename ?? 'image.png'}"\r\n` +
          `Content-Type: ${file.contentType ?? 'image/png'}\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export function upload(stack: Stack, fields: Record<string, string>, file?: FilePart, apiKey = stack.key.key) {
  const body = multipart(fields, file);
  return stack.app.inject({ method: 'POST', url: '/api/v1/images/upload', headers: { ...body.headers, 'x-api-key': apiKey }, payload: body.payload });
}

export function png(width = 64, height = 48, colour = { r: 200, g: 30, b: 30 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/** Every object key in an fs-driver store. */
export async function storedKeys(stack: Stack): Promise<string[]> {
  if (stack.config.storage.driver !== 'fs') throw new Error('storedKeys needs the fs driver');
  const root = stack.config.storage.dir;
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(root, p));
    }
  };
  await walk(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return out.sort();
}

/** JSON API call with the stack's key (or another). */
export function call(stack: Stack, method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD', url: string, payload?: unknown, apiKey = stack.key.key, headers: Record<string, string> = {}) {
  return stack.app.inject({ method, url, headers: { 'x-api-key': apiKey, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export const cdnPath = (url: string): string => new URL(url).pathname;

/** Submits with `Prefer: wait` (no prompt enhancement) and returns the generation, which must have succeeded. */
export async function generateAndWait(stack: Stack, body: Record<string, unknown>, apiKey = stack.key.key): Promise<any> {
  const res = await call(stack, 'POST', '/api/v1/generations', { autoEnhance: false, ...body }, apiKey, { prefer: 'wait=30' });
  const data = res.json().data;
  if (data?.status !== 'success') throw new Error(`generation did not succeed: ${res.body}`);
  return data;
}
