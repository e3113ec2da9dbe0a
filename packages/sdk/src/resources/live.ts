import type { CreateScopeInput, Deleted, LiveScope, PageQuery, SignLiveInput, SignedUrl, UpdateScopeInput } from '@banatie/contracts';
import type { PageList } from '../pagination.js';
import { liveUrl, signLiveUrl, type LiveUrlParams, type SignOptions } from '../live.js';
import { enc, type CallOptions, type Transport } from '../transport.js';

/** Live scopes (SPEC §7). */
export class LiveScopes {
  constructor(private readonly http: Transport) {}

  /** A page (`await`), or every scope page after page (`for await`). */
  list(query: PageQuery = {}, opts: CallOptions = {}): PageList<LiveScope> {
    return this.http.list('/live/scopes', query, opts);
  }

  get(slug: string, opts: CallOptions = {}): Promise<LiveScope> {
    return this.http.data('GET', `/live/scopes/${enc(slug)}`, opts);
  }

  /** Not retried after a network error: a second create of the same slug would answer 409. */
  create(body: CreateScopeInput, opts: CallOptions = {}): Promise<LiveScope> {
    return this.http.data('POST', '/live/scopes', { ...opts, json: body });
  }

  update(slug: string, body: UpdateScopeInput, opts: CallOptions = {}): Promise<LiveScope> {
    return this.http.data('PUT', `/live/scopes/${enc(slug)}`, { ...opts, json: body });
  }

  /** Deletes the scope and its cache entries. */
  delete(slug: string, opts: CallOptions = {}): Promise<Deleted> {
    return this.http.data('DELETE', `/live/scopes/${enc(slug)}`, opts);
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
  async signOnServer(body: SignLiveInput, opts: CallOptions = {}): Promise<string> {
    // Signing changes nothing on the server: retried like a read.
    return (await this.http.data<SignedUrl>('POST', '/live/sign', { ...opts, json: body, retry: 'all' })).url;
  }
}
