import type { BatchJob, GoogleGenAI, InlinedRequest, Part } from '@google/genai';
import { ProviderError } from '@banatie/core';
import type { BatchImageRequest, BatchItemResult, ImageBatchProvider, ProviderBatchState } from '@banatie/core';
import { classifyGeminiError } from './gemini-errors.js';
import { extractImage, usageOf } from './gemini-response.js';
import type { GeminiTransport } from './gemini-transport.js';

const STATES: Record<string, ProviderBatchState> = {
  JOB_STATE_PENDING: 'pending',
  JOB_STATE_QUEUED: 'pending',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_EXPIRED: 'expired',
};

/**
 * The Gemini Batch API through the SDK (`ai.batches.create/get/list`): inlined
 * requests keyed by `metadata.key`, results under `dest.inlinedResponses[]`.
 */
export class GeminiBatchClient implements ImageBatchProvider {
  constructor(
    private readonly ai: GoogleGenAI,
    private readonly transport: GeminiTransport,
    private readonly timeoutMs: number,
    private readonly requestParts: (req: BatchImageRequest) => Part[],
    private readonly requestConfig: (req: BatchImageRequest) => InlinedRequest['config'],
  ) {}

  async submitBatch(model: string, displayName: string, items: BatchImageRequest[]): Promise<string> {
    const src: InlinedRequest[] = items.map((item) => ({
      contents: [{ role: 'user', parts: this.requestParts(item) }],
      config: this.requestConfig(item),
      metadata: { key: item.key },
    }));
    const job = await this.call(() => this.ai.batches.create({ model, src, config: { displayName, httpOptions: { timeout: this.timeoutMs } } }));
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

  async getBatch(name: string): Promise<{ state: ProviderBatchState; results: BatchItemResult[] }> {
    const inlineData = this.transport.call();
    const job: BatchJob = await this.call(() => this.ai.batches.get({ name, config: { httpOptions: { timeout: this.timeoutMs, fetch: inlineData.fetch } } }));
    const state = STATES[String(job.state)] ?? 'running';
    const model = (job.model ?? '').replace(/^models\//, '');
    const results = (job.dest?.inlinedResponses ?? []).map((item, index): BatchItemResult => {
      const key = typeof item.metadata?.key === 'string' ? item.metadata.key : String(index);
      if (item.error) return { key, error: itemError(item.error) };
      if (!item.response) return { key, error: new ProviderError('NO_IMAGE', 'The batch answer held no response for this item', false) };
      try {
        // The item's size is the generation's own: the caller fills it in (one Gemini batch holds every size of a model).
        const usage = usageOf(item.response, { operation: 'generate_image', model, imageSize: null, tier: 'batch' });
        return { key, image: extractImage(item.response, inlineData.take, usage) };
      } catch (err) {
        return { key, error: err instanceof ProviderError ? err : new ProviderError('NO_IMAGE', 'The batch answer held no image', false) };
      }
    });
    return { state, results };
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw classifyGeminiError(err, { timedOut: false, cancelled: false, timeoutMs: this.timeoutMs });
    }
  }
}

/** A per-item `google.rpc.Status`, mapped like a generateContent failure; a batch item is never retried. */
function itemError(status: { code?: number; message?: string; status?: string }): ProviderError {
  const code = status.code ?? 0;
  const detail = `${status.status ?? `code ${code}`}${status.message ? `: ${status.message}` : ''}`;
  if (code === 429) return new ProviderError('RATE_LIMITED', `Gemini rate limited this batch item (${detail})`, false);
  if (code >= 500 || code === 408) return new ProviderError('PROVIDER_UNAVAILABLE', `Gemini could not generate this batch item (${detail})`, false);
  return new ProviderError('PROVIDER_REJECTED', `Gemini rejected this batch item (${detail})`, false);
}
