import type { Deleted, Image, ListImagesQuery, ResolvedImage, UpdateImageInput } from '@banatie/contracts';
import type { PageList } from '../pagination.js';
import { enc, type CallOptions, type Transport } from '../transport.js';
import { toUploadBlob, type UploadSource } from '../upload-body.js';

export interface UploadOptions extends CallOptions {
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
    // Uploads take no Idempotency-Key: retried only after a 429 (refused before anything was stored).
    return this.http.data('POST', '/images/upload', { form, signal: opts.signal, timeoutMs: opts.timeoutMs, maxRetries: opts.maxRetries });
  }

  get(id: string, opts: CallOptions = {}): Promise<Image> {
    return this.http.data('GET', `/images/${enc(id)}`, opts);
  }

  /** A page (`await`), or every image page after page (`for await`). */
  list(query: ListImagesQuery = {}, opts: CallOptions = {}): PageList<Image> {
    return this.http.list('/images', query, opts);
  }

  /** Focal point, meta and alias. */
  update(id: string, body: UpdateImageInput, opts: CallOptions = {}): Promise<Image> {
    return this.http.data('PUT', `/images/${enc(id)}`, { ...opts, json: body });
  }

  /** Sets (string) or removes (null) the project alias. */
  setAlias(id: string, alias: string | null, opts: CallOptions = {}): Promise<Image> {
    return this.http.data('PUT', `/images/${enc(id)}/alias`, { ...opts, json: { alias } });
  }

  /** Resolves an alias (technical → flow → project). */
  resolve(alias: string, opts: CallOptions & { flowId?: string } = {}): Promise<ResolvedImage> {
    const { flowId, ...call } = opts;
    return this.http.data('GET', `/images/resolve/${enc(alias)}`, { ...call, query: { flowId } });
  }

  delete(id: string, opts: CallOptions = {}): Promise<Deleted> {
    return this.http.data('DELETE', `/images/${enc(id)}`, opts);
  }
}
