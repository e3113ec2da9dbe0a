import type { Deleted, Image, ListImagesQuery, Page, ResolvedImage, UpdateImageInput } from '@banatie/contracts';
import { enc, type Transport } from '../transport.js';
import { toUploadBlob, type UploadSource } from '../upload-body.js';

export interface UploadOptions {
  /** File name sent with the form (default: the File's name, else "upload"). */
  filename?: string;
  /** Content type of the bytes (default: the Blob's type, else application/octet-stream; the server sniffs the format anyway). */
  contentType?: string;
  /** Project alias (`@name`). */
  alias?: string;
  /** Attach to a flow (null: no flow). */
  flowId?: string | null;
  /** Alias inside the flow. */
  flowAlias?: string;
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
}

/** Images, uploads and aliases (SPEC §6). */
export class Images {
  constructor(private readonly http: Transport) {}

  async upload(file: UploadSource, opts: UploadOptions = {}): Promise<Image> {
    const blob = await toUploadBlob(file, opts.contentType);
    const form = new FormData();
    if (opts.alias !== undefined) form.append('alias', opts.alias);
    if (opts.flowId !== undefined) form.append('flowId', opts.flowId ?? 'null');
    if (opts.flowAlias !== undefined) form.append('flowAlias', opts.flowAlias);
    if (opts.meta !== undefined) form.append('meta', JSON.stringify(opts.meta));
    const name = opts.filename ?? (typeof (file as File).name === 'string' && (file as File).name ? (file as File).name : 'upload');
    form.append('file', blob, name);
    return this.http.data('POST', '/images/upload', { form, signal: opts.signal });
  }

  get(id: string): Promise<Image> {
    return this.http.data('GET', `/images/${enc(id)}`);
  }

  list(query: ListImagesQuery = {}): Promise<Page<Image>> {
    return this.http.page('/images', query);
  }

  /** Focal point, meta and alias. */
  update(id: string, body: UpdateImageInput): Promise<Image> {
    return this.http.data('PUT', `/images/${enc(id)}`, { json: body });
  }

  /** Sets (string) or removes (null) the project alias. */
  setAlias(id: string, alias: string | null): Promise<Image> {
    return this.http.data('PUT', `/images/${enc(id)}/alias`, { json: { alias } });
  }

  /** Resolves an alias (technical → flow → project). */
  resolve(alias: string, opts: { flowId?: string } = {}): Promise<ResolvedImage> {
    return this.http.data('GET', `/images/resolve/${enc(alias)}`, { query: { flowId: opts.flowId } });
  }

  delete(id: string): Promise<Deleted> {
    return this.http.data('DELETE', `/images/${enc(id)}`);
  }
}
