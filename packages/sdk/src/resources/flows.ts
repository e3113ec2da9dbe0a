import type { Deleted, Flow, Generation, Image, Page, PageQuery } from '@banatie/contracts';
import { enc, type Transport } from '../transport.js';

/** Flows (SPEC §5). */
export class Flows {
  constructor(private readonly http: Transport) {}

  list(query: PageQuery = {}): Promise<Page<Flow>> {
    return this.http.page('/flows', query);
  }

  get(id: string): Promise<Flow> {
    return this.http.data('GET', `/flows/${enc(id)}`);
  }

  generations(id: string, query: PageQuery = {}): Promise<Page<Generation>> {
    return this.http.page(`/flows/${enc(id)}/generations`, query);
  }

  images(id: string, query: PageQuery = {}): Promise<Page<Image>> {
    return this.http.page(`/flows/${enc(id)}/images`, query);
  }

  /** Merges `{ "@name": imageId }` into the flow's aliases. */
  setAliases(id: string, aliases: Record<string, string>): Promise<Flow> {
    return this.http.data('PUT', `/flows/${enc(id)}/aliases`, { json: { aliases } });
  }

  deleteAlias(id: string, alias: string): Promise<Flow> {
    return this.http.data('DELETE', `/flows/${enc(id)}/aliases/${enc(alias)}`);
  }

  /** Regenerates the flow's latest generation. */
  regenerate(id: string): Promise<Generation> {
    return this.http.data('POST', `/flows/${enc(id)}/regenerate`);
  }

  /** Deletes the flow; its generations and images remain. */
  delete(id: string): Promise<Deleted> {
    return this.http.data('DELETE', `/flows/${enc(id)}`);
  }
}
