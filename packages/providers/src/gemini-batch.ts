import { ApiError } from '@google/genai';
import type { BatchJob, GenerateContentConfig, GenerateContentResponse, GoogleGenAI, InlinedRequest, Part } from '@google/genai';
import { ProviderError, batchRequestBytes } from '@banatie/core';
import type { BatchImageRequest, BatchItemResult, ImageBatchProvider, ProviderBatchState } from '@banatie/core';
import { classifyGeminiError } from './gemini-errors.js';
import { extractImage, usageOf } from './gemini-response.js';
import type { GeminiTransport } from './gemini-transport.js';
import { MIN_LIFTED_LENGTH, liftInlineData } from './inline-data.js';

const STATES: Record<string, ProviderBatchState> = {
  JOB_STATE_PENDING: 'pending',
  JOB_STATE_QUEUED: 'pending',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_EXPIRED: 'expired',
};

/** The Batch API takes inlined requests up to 20 MB in all; a margin is left for the estimate's error. */
export const DEFAULT_BATCH_INLINE_BYTES = 19 * 1024 * 1024;
const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
const NEWLINE = 0x0a;

export interface GeminiBatchOptions {
  apiKey: string;
  baseUrl?: string;
  timeoutMs: number;
  /** Requests weighing more than this (estimated) go as an uploaded JSONL file instead of inlined. */
  maxInlineBytes?: number;
  requestParts: (req: BatchImageRequest) => Part[];
  requestConfig: (req: BatchImageRequest) => GenerateContentConfig;
}

/** One line of a results file: the request's key and its response or `google.rpc.Status`. */
interface ResultLine {
  key?: unknown;
  response?: GenerateContentResponse;
  error?: RpcStatus;
}

interface RpcStatus {
  code?: number;
  message?: string;
  status?: string;
}

/**
 * The Gemini Batch API through the SDK (`ai.batches.create/get/list`). Up to the
 * inline limit the requests go inlined, keyed by `metadata.key`, and their results
 * come back under `dest.inlinedResponses[]`. Beyond it they are uploaded as a JSONL
 * file (`ai.files.upload`, one `{key, request}` per line) and the results come back as
 * a JSONL file (`dest.fileName`), read as a stream one line at a time: a line holds a
 * whole image (~23 MB of base64 at 4K) and the file may hold a hundred.
 */
export class GeminiBatchClient implements ImageBatchProvider {
  private readonly maxInlineBytes: number;

  constructor(
    private readonly ai: GoogleGenAI,
    private readonly transport: GeminiTransport,
    private readonly options: GeminiBatchOptions,
  ) {
    this.maxInlineBytes = options.maxInlineBytes ?? DEFAULT_BATCH_INLINE_BYTES;
  }

  async submitBatch(model: string, displayName: string, items: BatchImageRequest[]): Promise<string> {
    const bytes = items.reduce((sum, item) => sum + batchRequestBytes(item), 0);
    // The file is uploaded before the job is created: a crash between the two leaves an unused file, which Gemini deletes after 48 h.
    const src = bytes > this.maxInlineBytes ? (await this.uploadRequests(displayName, items)) : this.inlinedRequests(items);
    const job = await this.call(() => this.ai.batches.create({ model, src, config: { displayName, httpOptions: { timeout: this.options.timeoutMs } } }));
    if (!job.name) throw new ProviderError('PROVIDER_UNAVAILABLE', 'Gemini created a batch without a name', true);
    return job.name;
  }

  async findBatch(displayName: string): Promise<string | undefined> {
    return this.call(async () => {
      const pager = await this.ai.batches.list({ config: { pageSize: 100 } });
      for await (const job of pager) if (job.displayName === displayName && job.name) return job.name;
      return undefined;
    });
  }

  async getBatch(name: string): Promise<{ state: ProviderBatchState; results: AsyncIterable<BatchItemResult> }> {
    const inlineData = this.transport.call();
    const job: BatchJob = await this.call(() => this.ai.batches.get({ name, config: { httpOptions: { timeout: this.options.timeoutMs, fetch: inlineData.fetch } } }));
    const state = STATES[String(job.state)] ?? 'running';
    const model = (job.model ?? '').replace(/^models\//, '');
    if (job.dest?.fileName) return { state, results: this.fileResults(job.dest.fileName, model) };
    const results = (job.dest?.inlinedResponses ?? []).map((item, index) => {
      const key = typeof item.metadata?.key === 'string' ? item.metadata.key : String(index);
      return itemResult(key, item, model, inlineData.take);
    });
    return { state, results: fromArray(results) };
  }

  private inlinedRequests(items: BatchImageRequest[]): InlinedRequest[] {
    return items.map((item) => ({
      contents: [{ role: 'user', parts: this.options.requestParts(item) }],
      config: this.options.requestConfig(item),
      metadata: { key: item.key },
    }));
  }

  /** The requests as a JSONL file (Google's batch input format), uploaded; resolves with the file's name. */
  private async uploadRequests(displayName: string, items: BatchImageRequest[]): Promise<string> {
    // One Blob per line and a Blob of those: Node keeps Blob bytes outside the heap and
    // composes Blobs without copying, so only one line is ever a string.
    const lines = items.map((item) => new Blob([`${JSON.stringify(this.fileLine(item))}\n`]));
    const file = new Blob(lines, { type: 'application/jsonl' });
    const uploaded = await this.call(() =>
      this.ai.files.upload({ file, config: { mimeType: 'jsonl', displayName, httpOptions: { timeout: this.options.timeoutMs } } }),
    );
    if (!uploaded.name) throw new ProviderError('PROVIDER_UNAVAILABLE', 'Gemini stored the batch input file without a name', true);
    return uploaded.name;
  }

  /** A line of the input file: the request in the REST wire format (the SDK converts only what it sends itself). */
  private fileLine(item: BatchImageRequest): object {
    const { tools, toolConfig, systemInstruction, safetySettings, ...generationConfig } = this.options.requestConfig(item);
    return {
      key: item.key,
      request: {
        contents: [{ role: 'user', parts: this.options.requestParts(item) }],
        generationConfig,
        ...(tools && { tools }),
        ...(toolConfig && { toolConfig }),
        ...(systemInstruction && { systemInstruction }),
        ...(safetySettings && { safetySettings }),
      },
    };
  }

  /** The results file read line by line as it downloads; each line's image leaves memory with its result. */
  private async *fileResults(fileName: string, model: string): AsyncGenerator<BatchItemResult> {
    let index = 0;
    for await (const line of this.downloadLines(fileName)) {
      const lifted = new Map<string, Buffer>();
      const body = liftInlineData(line, MIN_LIFTED_LENGTH, (bytes) => {
        const placeholder = `banatie-batch-line:${lifted.size}`;
        lifted.set(placeholder, bytes);
        return placeholder;
      });
      const parsed = parseLine(body);
      const key = typeof parsed?.key === 'string' ? parsed.key : String(index);
      index++;
      if (!parsed) continue; // an unreadable line: its item ends as answered nothing
      yield itemResult(key, parsed, model, (data) => lifted.get(data));
    }
  }

  /**
   * The file's lines from Google's media download endpoint
   * (`/download/v1beta/{file}:download?alt=media`). The SDK's `files.download` only
   * writes to a path, and a worker's disk is small; this streams instead.
   */
  private async *downloadLines(fileName: string): AsyncGenerator<Buffer> {
    const base = (this.options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const url = `${base}/download/v1beta/${fileName}:download?alt=media`;
    const idle = new IdleTimeout(this.options.timeoutMs);
    try {
      const res = await this.call(() => fetch(url, { headers: { 'x-goog-api-key': this.options.apiKey }, signal: idle.signal }));
      if (!res.ok || !res.body) {
        // The JSON error body as the message, as the SDK reports it, so it is classified like any call's.
        throw new ApiError({ status: res.status, message: await res.text().catch(() => `Downloading ${fileName} failed`) });
      }
      yield* splitLines(res.body, () => idle.touch());
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw classifyGeminiError(err, { timedOut: idle.fired, cancelled: false, timeoutMs: this.options.timeoutMs });
    } finally {
      // Also when the reader stopped early: the rest of the body is not wanted.
      idle.stop();
    }
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw classifyGeminiError(err, { timedOut: false, cancelled: false, timeoutMs: this.options.timeoutMs });
    }
  }
}

/** The non-empty lines of a byte stream, each joined once from the chunks it spans. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, onChunk: () => void = () => {}): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    onChunk();
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let at = data.indexOf(NEWLINE); at !== -1; at = data.indexOf(NEWLINE)) {
      const line = pending.length ? Buffer.concat([...pending, data.subarray(0, at)]) : data.subarray(0, at);
      pending = [];
      data = data.subarray(at + 1);
      if (line.length > 0) yield line;
    }
    if (data.length) pending.push(data);
  }
  const last = Buffer.concat(pending);
  if (last.length > 0) yield last;
}

/** Aborts when no byte has arrived for `ms`: a download of any size, but never a stalled one. */
class IdleTimeout {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  fired = false;

  constructor(private readonly ms: number) {
    this.timer = this.start();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = this.start();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.controller.abort(new Error('The download was stopped'));
  }

  private start(): NodeJS.Timeout {
    return setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error(`No data for ${this.ms} ms`));
    }, this.ms);
  }
}

function parseLine(body: Buffer): ResultLine | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as ResultLine) : undefined;
  } catch {
    return undefined;
  }
}

/** One item's response or error, inlined or from a results file, as a BatchItemResult. */
function itemResult(key: string, item: { response?: GenerateContentResponse; error?: RpcStatus }, model: string, take: (data: string) => Buffer | undefined): BatchItemResult {
  if (item.error) return { key, error: itemError(item.error) };
  if (!item.response) return { key, error: new ProviderError('NO_IMAGE', 'The batch answer held no response for this item', false) };
  try {
    // The item's size is the generation's own: the caller fills it in (one Gemini batch holds every size of a model).
    const usage = usageOf(item.response, { operation: 'generate_image', model, imageSize: null, tier: 'batch' });
    return { key, image: extractImage(item.response, take, usage) };
  } catch (err) {
    return { key, error: err instanceof ProviderError ? err : new ProviderError('NO_IMAGE', 'The batch answer held no image', false) };
  }
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** A per-item `google.rpc.Status`, mapped like a generateContent failure; a batch item is never retried. */
function itemError(status: RpcStatus): ProviderError {
  const code = status.code ?? 0;
  const detail = `${status.status ?? `code ${code}`}${status.message ? `: ${status.message}` : ''}`;
  if (code === 429) return new ProviderError('RATE_LIMITED', `Gemini rate limited this batch item (${detail})`, false);
  if (code >= 500 || code === 408) return new ProviderError('PROVIDER_UNAVAILABLE', `Gemini could not generate this batch item (${detail})`, false);
  return new ProviderError('PROVIDER_REJECTED', `Gemini rejected this batch item (${detail})`, false);
}
