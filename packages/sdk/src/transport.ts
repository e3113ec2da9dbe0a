import type { Page } from '@banatie/contracts';
import { BanatieError, errorFromResponse } from './errors.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface BanatieOptions {
  /** A project key (`bnt_…`), sent as `X-API-Key`. */
  apiKey?: string;
  /** Where the API runs, e.g. `https://images.example.com`. Default `http://localhost:3000`. */
  baseUrl?: string;
  /** A fetch implementation (default: the global fetch). */
  fetch?: FetchLike;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** JSON body. */
  json?: unknown;
  /** Multipart body (the runtime sets the boundary). */
  form?: FormData;
  headers?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export const API_PREFIX = '/api/v1';

/** `{ success: true, data }` */
interface Ok<T> {
  data: T;
}

/** Sends requests and turns failures into BanatieError. */
export class Transport {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly options: BanatieOptions) {
    this.baseUrl = (options.baseUrl ?? 'http://localhost:3000').replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) params.set(k, String(v));
    const qs = params.toString();
    return `${this.baseUrl}${API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
  }

  /** The raw response of a successful (2xx) request. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const [k, v] of Object.entries(this.options.headers ?? {})) headers[k.toLowerCase()] = v;
    if (this.options.apiKey) headers['x-api-key'] = this.options.apiKey;
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    let body: FormData | string | undefined;
    if (opts.form) body = opts.form;
    else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), { method, headers, body, signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      throw new BanatieError({ code: 'NETWORK_ERROR', message: `Network error: ${(err as Error)?.message ?? String(err)}`, status: 0, cause: err });
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  /** `data` of the `{ success: true, data }` envelope, with the response (for headers). */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ data: T; response: Response }> {
    const response = await this.send(method, path, opts);
    const body = (await readJson(response)) as Ok<T>;
    return { data: body.data, response };
  }

  async data<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request<T>(method, path, opts)).data;
  }

  /** A list answer: `{ data: [...], pagination }`. */
  async page<T>(path: string, query?: Record<string, QueryValue>, signal?: AbortSignal): Promise<Page<T>> {
    const res = await this.send('GET', path, { query, signal });
    const body = (await readJson(res)) as Page<T>;
    return { data: body.data, pagination: body.pagination };
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BanatieError({ code: 'HTTP_ERROR', message: 'The API answered with a body that is not JSON', status: res.status, details: text.slice(0, 1000), requestId: res.headers.get('x-request-id') ?? undefined, cause: err });
  }
}

export const enc = encodeURIComponent;
