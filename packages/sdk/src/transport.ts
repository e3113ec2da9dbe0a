import type { Page } from '@banatie/contracts';
import { BanatieError, errorFromResponse } from './errors.js';
import { PageList } from './pagination.js';
import { abortableDelay, AttemptSignal, retryDelayMs, type RetryPolicy } from './retry.js';

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
  /**
   * Retries after 429, 502, 503, 504, a network error or a timeout (default 2).
   * Reads, updates and deletes are retried; creates carry an `Idempotency-Key`
   * so a retried submit never makes a second generation; other POSTs are
   * retried only after a 429 (the server refused them before doing anything).
   */
  maxRetries?: number;
  /** Milliseconds one attempt may take, until the answer is read (default 60000; SSE streams: until they open). */
  timeoutMs?: number;
}

/** Options every method takes. */
export interface CallOptions {
  /** Aborts the call (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions extends CallOptions {
  query?: Record<string, QueryValue>;
  /** JSON body. */
  json?: unknown;
  /** Multipart body (the runtime sets the boundary). */
  form?: FormData;
  headers?: Record<string, string | undefined>;
  /** Which failures may be retried; default by method (GET/HEAD/PUT/DELETE: all; POST: a 429 only). */
  retry?: RetryPolicy;
}

export const API_PREFIX = '/api/v1';
export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** `{ success: true, data }` */
interface Ok<T> {
  data: T;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Sends requests, retries what is safe to retry, and turns failures into BanatieError. */
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

  /**
   * The raw response of a successful (2xx) request, for streams: the timeout
   * covers the wait for the response head only; the caller's signal still ends the body.
   */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    return this.attempts(method, path, opts, async (res) => res);
  }

  /** `data` of the `{ success: true, data }` envelope, with the response (for headers). */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<{ data: T; response: Response }> {
    return this.attempts(method, path, opts, async (response) => ({ data: ((await readJson(response)) as Ok<T>).data, response }));
  }

  async data<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request<T>(method, path, opts)).data;
  }

  /** A list answer: `{ data: [...], pagination }`. */
  async page<T>(path: string, query?: Record<string, QueryValue>, opts: CallOptions = {}): Promise<Page<T>> {
    return this.attempts('GET', path, { ...opts, query }, async (res) => {
      const body = (await readJson(res)) as Page<T>;
      return { data: body.data, pagination: body.pagination };
    });
  }

  /** A list that is a promise of its first page and async-iterable over every item of every page. */
  list<T>(path: string, query: { limit?: number; offset?: number } & Record<string, QueryValue> = {}, opts: CallOptions = {}): PageList<T> {
    return new PageList<T>((q) => this.page<T>(path, q, opts), query);
  }

  /** Runs attempts until one succeeds (read by `read` under the same timeout) or a failure may not be retried. */
  private async attempts<R>(method: string, path: string, opts: RequestOptions, read: (res: Response) => Promise<R>): Promise<R> {
    const maxRetries = Math.max(0, opts.maxRetries ?? this.options.maxRetries ?? DEFAULT_MAX_RETRIES);
    const timeoutMs = withWaitTime(opts.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.headers?.prefer);
    const policy: RetryPolicy = opts.retry ?? (SAFE_METHODS.has(method) ? 'all' : 'refused');
    const url = this.url(path, opts.query);
    const init = this.init(method, opts);
    for (let attempt = 0; ; attempt++) {
      const signal = new AttemptSignal(timeoutMs, opts.signal);
      let failure: BanatieError;
      try {
        const res = await this.fetchImpl(url, { ...init, signal: signal.signal });
        if (res.ok) return await read(res);
        failure = await errorFromResponse(res);
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        if (err instanceof BanatieError && !signal.timedOut) throw err;
        failure = signal.timedOut
          ? new BanatieError({ code: 'TIMEOUT', message: `No answer within ${timeoutMs} ms`, status: 0, cause: err })
          : new BanatieError({ code: 'NETWORK_ERROR', message: `Network error: ${(err as Error)?.message ?? String(err)}`, status: 0, cause: err });
      } finally {
        signal.dispose();
      }
      const delay = attempt < maxRetries ? retryDelayMs(failure, attempt, policy) : undefined;
      if (delay === undefined) throw failure;
      await abortableDelay(delay, opts.signal);
    }
  }

  private init(method: string, opts: RequestOptions): RequestInit {
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
    return { method, headers, body };
  }
}

/** A `Prefer: wait=N` request is answered after up to N seconds: its timeout allows for that. */
function withWaitTime(timeoutMs: number, prefer: string | undefined): number {
  const seconds = /wait=(\d+)/.exec(prefer ?? '')?.[1];
  return seconds === undefined ? timeoutMs : Math.max(timeoutMs, Number(seconds) * 1000 + 10_000);
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
