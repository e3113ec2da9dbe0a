import type { Deleted, Flow, Generation, Image, PageQuery } from '@banatie/contracts';
import type { PageList } from '../pagination.js';
import { enc, type CallOptions, type Transport } from '../transport.js';

/** Flows (SPEC §5). */
export class Flows {
  constructor(private readonly http: Transport) {}

  /** A page (`await`), or every flow page after page (`for await`). */
  list(query: PageQuery = {}, opts: CallOptions = {}): PageList<Flow> {
    return this.http.list('/flows', query, opts);
  }

  get(id: string, opts: CallOptions = {}): Promise<Flow> {
    return this.http.data('GET', `/flows/${enc(id)}`, opts);
  }

  generations(id: string, query: PageQuery = {}, opts: CallOptions = {}): PageList<Generation> {
    return this.http.list(`/flows/${enc(id)}/generations`, query, opts);
  }

  images(id: string, query: PageQuery = {}, opts: CallOptions = {}): PageList<Image> {
    return this.http.list(`/flows/${enc(id)}/images`, query, opts);
  }

  /** Merges `{ "@name": imageId }` into the flow's aliases. */
  setAliases(id: string, aliases: Record<string, string>, opts: CallOptions = {}): Promise<Flow> {
    return this.http.data('PUT', `/flows/${enc(id)}/aliases`, { ...opts, json: { aliases } });
  }

  deleteAlias(id: string, alias: string, opts: CallOptions = {}): Promise<Flow> {
    return this.http.data('DELETE', `/flows/${enc(id)}/aliases/${enc(alias)}`, opts);
  }

  /** Regenerates the flow's latest generation. */
  regenerate(id: string, opts: CallOptions = {}): Promise<Generation> {
    return this.http.data('POST', `/flows/${enc(id)}/regenerate`, opts);
  }

  /** Deletes the flow; its generations and images remain. */
  delete(id: string, opts: CallOptions = {}): Promise<Deleted> {
    return this.http.data('DELETE', `/flows/${enc(id)}`, opts);
  }
}
