import { randomUUID } from 'node:crypto';
import { MAX_UPLOAD_BYTES } from '@banatie/contracts';
import { flowRepository, imageRepository } from '@banatie/db';
import { fileTypeFromBuffer } from 'file-type';
import sharp, { type Metadata } from 'sharp';
import { checkAssignedAliases } from './alias.js';
import type { ProjectContext } from './auth.js';
import { AppError, NotFoundError, UnsupportedMediaTypeError, ValidationError } from './errors.js';
import { AliasConflictError, isUniqueViolation, presentImage, type ImageDeps } from './image.service.js';
import type { ImageDto } from './presenters.js';
import { MAX_UPLOAD_PIXELS, MAX_UPLOAD_SIDE } from './image-limits.js';
import { contentEtag, imageStorageKey } from './storage-keys.js';

export { MAX_UPLOAD_BYTES };
export { MAX_UPLOAD_PIXELS, MAX_UPLOAD_SIDE };

/** By detected type; an animated PNG is a PNG (its first frame is kept). */
const ACCEPTED: Record<string, 'png' | 'jpeg' | 'webp'> = { 'image/png': 'png', 'image/apng': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' };
const FORMAT_MIME = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

export class FileTooLargeError extends AppError {
  constructor() {
    super('too_large', 'FILE_TOO_LARGE', 'File too large');
  }
}

export interface UploadInput {
  data: Buffer;
  alias?: string;
  /** undefined: start a new flow; null: no flow. */
  flowId?: string | null;
  flowAlias?: string;
  meta?: Record<string, unknown>;
}

/**
 * Decides the type by the bytes, refuses oversized dimensions from the header
 * before decoding, then re-encodes with orientation applied: the output
 * carries no EXIF/GPS (sharp drops metadata unless asked to keep it) and no
 * trailing bytes of a polyglot.
 */
export async function normalizeUpload(data: Buffer): Promise<{ data: Buffer; mimeType: string; width: number; height: number }> {
  if (data.length === 0) throw new ValidationError('File is empty', { field: 'file' });
  if (data.length > MAX_UPLOAD_BYTES) throw new FileTooLargeError();
  const detected = await fileTypeFromBuffer(data);
  const format = detected ? ACCEPTED[detected.mime] : undefined;
  if (!format) throw new UnsupportedMediaTypeError('Unsupported image type: only PNG, JPEG and WebP are accepted');
  let header: Metadata;
  try {
    // Header only; no pixel limit here so the real size can be reported.
    header = await sharp(data, { limitInputPixels: false }).metadata();
  } catch {
    throw new ValidationError('Image is corrupt or truncated', { field: 'file' });
  }
  const { width = 0, height = 0 } = header;
  if (width > MAX_UPLOAD_SIDE || height > MAX_UPLOAD_SIDE || width * height > MAX_UPLOAD_PIXELS) {
    throw new ValidationError(`Image dimensions too large: at most ${MAX_UPLOAD_SIDE} px on a side and 40 megapixels`, { field: 'file' });
  }
  try {
    const out = await sharp(data, { limitInputPixels: MAX_UPLOAD_PIXELS, failOn: 'error' })
      .rotate()
      .toFormat(format, format === 'png' ? {} : { quality: 92 })
      .toBuffer({ resolveWithObject: true });
    return { data: out.data, mimeType: FORMAT_MIME[format], width: out.info.width, height: out.info.height };
  } catch {
    throw new ValidationError('Image is corrupt or truncated', { field: 'file' });
  }
}

export async function uploadImage(deps: ImageDeps, ctx: ProjectContext, input: UploadInput): Promise<ImageDto> {
  checkAssignedAliases(input);
  if (input.flowId && !(await flowRepository.findFlow(deps.db, ctx.projectId, input.flowId))) {
    throw new NotFoundError('Flow not found');
  }
  const file = await normalizeUpload(input.data);
  const id = randomUUID();
  const key = imageStorageKey(ctx.projectId, id);
  await deps.storage.put(key, file.data, file.mimeType);
  const now = deps.clock.now();
  try {
    const row = await deps.db.transaction().execute(async (tx) => {
      const flowId = input.flowId === undefined ? (await flowRepository.insertFlow(tx, ctx.projectId)).id : input.flowId;
      await imageRepository.insertImage(tx, {
        id,
        project_id: ctx.projectId,
        flow_id: flowId,
        generation_id: null,
        source: 'uploaded',
        storage_key: key,
        mime_type: file.mimeType,
        file_size: file.data.length,
        width: file.width,
        height: file.height,
        etag: contentEtag(file.data),
        meta: JSON.stringify(input.meta ?? {}),
        created_at: now,
        updated_at: now,
      });
      // An upload's alias takes over, like a generation's (that is how @logo is refreshed).
      if (input.alias) await imageRepository.takeOverProjectAlias(tx, ctx.projectId, input.alias, id, now);
      if (input.flowAlias && flowId) await flowRepository.setFlowAlias(tx, flowId, input.flowAlias, id, now);
      if (flowId) await flowRepository.touchFlow(tx, flowId, now);
      return imageRepository.findImage(tx, ctx.projectId, id);
    });
    return presentImage(deps, ctx, row!);
  } catch (err) {
    await deps.storage.delete(key).catch(() => undefined);
    // A PUT assigned the alias between our release and our set.
    if (isUniqueViolation(err)) throw new AliasConflictError();
    throw err;
  }
}
