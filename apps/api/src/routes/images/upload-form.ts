import { metaSchema } from '@banatie/contracts';
import { AppError, FileTooLargeError, MAX_UPLOAD_BYTES, UnsupportedMediaTypeError, ValidationError, isUuid, type UploadInput } from '@banatie/core';
import type { FastifyRequest } from 'fastify';

const FIELDS = new Set(['alias', 'flowId', 'flowAlias', 'meta']);
const MAX_FIELD_BYTES = 20 * 1024;

export const uploadLimits = { fileSize: MAX_UPLOAD_BYTES, files: 1, fields: FIELDS.size, fieldSize: MAX_FIELD_BYTES, parts: FIELDS.size + 1 };

const LIMIT_ERRORS: Record<string, string> = {
  FST_FILES_LIMIT: 'Only one file may be uploaded',
  FST_PARTS_LIMIT: 'Too many form fields',
  FST_FIELDS_LIMIT: 'Too many form fields',
};

/**
 * Reads the multipart form. The file is buffered up to the limit + 1 byte in
 * memory (busboy stops there), so an oversized upload is refused before
 * anything is stored.
 */
export async function readUploadForm(request: FastifyRequest): Promise<UploadInput> {
  if (!request.isMultipart()) throw new UnsupportedMediaTypeError('Upload must be multipart/form-data');
  const fields: Record<string, string> = {};
  let data: Buffer | undefined;
  try {
    for await (const part of request.parts({ limits: uploadLimits })) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') throw new ValidationError(`Unknown file field "${part.fieldname}"`);
        data = await part.toBuffer();
        if (part.file.truncated) throw new FileTooLargeError();
        continue;
      }
      if (!FIELDS.has(part.fieldname)) throw new ValidationError(`Unknown field "${part.fieldname}"`);
      if (part.valueTruncated) throw new ValidationError(`${part.fieldname} is too long`);
      fields[part.fieldname] = String(part.value);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new FileTooLargeError();
    if (code && LIMIT_ERRORS[code]) throw new ValidationError(LIMIT_ERRORS[code]);
    // Everything else thrown while reading the form is the parser refusing the body.
    throw new ValidationError('Malformed multipart/form-data body');
  }
  if (!data) throw new ValidationError('file is required', { field: 'file' });
  return { data, ...parseFields(fields) };
}

function parseFields(fields: Record<string, string>): Omit<UploadInput, 'data'> {
  const out: Omit<UploadInput, 'data'> = {};
  if (fields.alias !== undefined) out.alias = fields.alias;
  if (fields.flowAlias !== undefined) out.flowAlias = fields.flowAlias;
  if (fields.flowId !== undefined) {
    if (fields.flowId === '' || fields.flowId === 'null') out.flowId = null;
    else if (isUuid(fields.flowId)) out.flowId = fields.flowId.toLowerCase();
    else throw new ValidationError('flowId must be a UUID or null', { field: 'flowId' });
  }
  if (fields.meta !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fields.meta);
    } catch {
      throw new ValidationError('meta must be a JSON object', { field: 'meta' });
    }
    const meta = metaSchema.safeParse(parsed);
    if (!meta.success || Array.isArray(parsed)) throw new ValidationError(meta.error?.issues[0]?.message ?? 'meta must be a JSON object', { field: 'meta' });
    out.meta = meta.data;
  }
  return out;
}
