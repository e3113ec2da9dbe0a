import type { CreateScopeInput, Deleted, LiveScope, Page, PageQuery, SignLiveInput, SignedUrl, UpdateScopeInput } from '@banatie/contracts';
import { liveUrl, signLiveUrl, type LiveUrlParams, type SignOptions } from '../live.js';
import { enc, type Transport } from '../transport.js';

/** Live scopes (SPEC §7). */
export class LiveScopes {
  constructor(private readonly http: Transport) {}

  list(query: PageQuery = {}): Promise<Page<LiveScope>> {
    return this.http.page('/live/scopes', query);
  }

  get(slug: string): Promise<LiveScope> {
    return this.http.data('GET', `/live/scopes/${enc(slug)}`);
  }

  create(body: CreateScopeInput): Promise<LiveScope> {
    return this.http.data('POST', '/live/scopes', { json: body });
  }

  update(slug: string, body: UpdateScopeInput): Promise<LiveScope> {
    return this.http.data('PUT', `/live/scopes/${enc(slug)}`, { json: body });
  }

  /** Deletes the scope and its cache entries. */
  delete(slug: string): Promise<Deleted> {
    return this.http.data('DELETE', `/live/scopes/${enc(slug)}`);
  }
}

/** Live URLs: built and signed locally (no request), plus the scopes API. */
export class Live {
  readonly scopes: LiveScopes;

  constructor(private readonly http: Transport) {
    this.scopes = new LiveScopes(http);
  }

  /** The unsigned public URL on the client's baseUrl. */
  url(params: LiveUrlParams): string {
    return liveUrl(this.http.baseUrl, params);
  }

  /** A signed public URL, computed locally with the project's live signing secret (Web Crypto). */
  sign(params: LiveUrlParams & SignOptions & { secret: string }): Promise<string> {
    const { secret, expiresAt, ...urlParams } = params;
    return signLiveUrl(this.url(urlParams), secret, { expiresAt });
  }

  /** A signed URL from the server (`POST /live/sign`), for code that must not hold the secret; it is built on the server's PUBLIC_BASE_URL. */
  async signOnServer(body: SignLiveInput): Promise<string> {
    return (await this.http.data<SignedUrl>('POST', '/live/sign', { json: body })).url;
  }
}
