import { MAX_UPLOAD_BYTES } from '@banatie/contracts';
import { BanatieError } from './errors.js';

/** What `images.upload` accepts: a Blob/File, bytes (a Node Buffer is a Uint8Array), or a stream of bytes. */
export type UploadSource = Blob | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

const tooLarge = () => new BanatieError({ code: 'FILE_TOO_LARGE', message: 'File too large', status: 413 });

const isReadableStream = (v: unknown): v is ReadableStream<Uint8Array> => typeof (v as ReadableStream | null)?.getReader === 'function';
const isAsyncIterable = (v: unknown): v is AsyncIterable<Uint8Array> => typeof (v as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';

/**
 * The upload as a Blob. Streams are collected first (uploads are at most
 * 5 MB); collecting stops one byte past the limit, as the server would refuse it.
 */
export async function toUploadBlob(source: UploadSource, contentType: string | undefined): Promise<Blob> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return contentType && contentType !== source.type ? new Blob([source], { type: contentType }) : source;
  }
  const type = contentType ?? 'application/octet-stream';
  if (source instanceof Uint8Array) return new Blob([source as Uint8Array<ArrayBuffer>], { type });
  if (source instanceof ArrayBuffer) return new Blob([source], { type });
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const add = (chunk: Uint8Array) => {
    size += chunk.byteLength;
    if (size > MAX_UPLOAD_BYTES) throw tooLarge();
    chunks.push(chunk as Uint8Array<ArrayBuffer>);
  };
  if (isReadableStream(source)) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        add(value);
      }
    } catch (err) {
      await reader.cancel(err).catch(() => undefined);
      throw err;
    }
  } else if (isAsyncIterable(source)) {
    for await (const chunk of source) add(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  } else {
    throw new BanatieError({ code: 'VALIDATION_ERROR', message: 'Upload must be a Blob, Uint8Array, ArrayBuffer, ReadableStream or AsyncIterable of bytes', status: 0 });
  }
  return new Blob(chunks, { type });
}
