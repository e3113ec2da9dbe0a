// `upload FILE`: a PNG, JPEG or WebP file up to 5 MB, optionally under an alias.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { MAX_UPLOAD_BYTES } from '@banatie/sdk';
import { apiClient } from '../api.js';
import { API_GLOBALS, CliError, defineCommand } from '../command.js';
import { formatBytes } from '../format.js';
import { printJson } from '../io.js';
import { imageFields, printFields } from '../views.js';

/** Size of the file at `path`, with the usual reasons it cannot be read as CLI errors. */
async function fileSize(path: string): Promise<number> {
  const stats = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(err.code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE', `cannot read ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!stats.isFile()) throw new CliError('FILE_UNREADABLE', `${path} is not a file`);
  return stats.size;
}

export const upload = defineCommand({
  name: 'upload',
  summary: 'Upload an image file (PNG, JPEG or WebP, at most 5 MB)',
  synopsis: '<file>',
  args: { min: 1, max: 1 },
  options: {
    alias: { type: 'string', value: '@NAME', description: 'project alias for the image (taken over from any image holding it)' },
    flow: { type: 'string', value: 'ID', description: 'add to this flow (default: a new flow)' },
    'flow-alias': { type: 'string', value: '@NAME', description: 'alias for the image inside its flow' },
  },
  globals: API_GLOBALS,
  notes: 'Example:\n  banatie upload logo.png --alias @logo\n  banatie generate "a mug with @logo on it" --out mug.png',
  async run({ args, values, io }) {
    const path = args[0]!;
    const size = await fileSize(path);
    if (size > MAX_UPLOAD_BYTES) {
      throw new CliError('FILE_TOO_LARGE', `${path} is ${formatBytes(size)}; the server accepts at most ${formatBytes(MAX_UPLOAD_BYTES)}`);
    }
    const client = apiClient(io, values);
    const image = await client.images.upload(createReadStream(path), {
      filename: basename(path),
      ...(values.alias !== undefined ? { alias: values.alias } : {}),
      ...(values.flow !== undefined ? { flowId: values.flow } : {}),
      ...(values['flow-alias'] !== undefined ? { flowAlias: values['flow-alias'] } : {}),
    });
    if (values.json) return printJson(io, image);
    printFields(io, imageFields(image));
  },
});
