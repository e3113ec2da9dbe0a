import { ApiError, GoogleGenAI } from '@google/genai';
import type { GenerateContentConfig, GenerateContentResponse, Part } from '@google/genai';
import { GEMINI_DEFAULT_IMAGE_SIZE } from '@banatie/contracts';
import { TEMPLATE_INSTRUCTIONS } from '@banatie/core';
import { ProviderError } from '@banatie/core';
import type {
  EnhancedPrompt,
  GenerateImageRequest,
  GeneratedImage,
  ImageProvider,
  PromptTemplate,
  ProviderCall,
  ProviderCallObserver,
} from '@banatie/core';
import { classifyGeminiError } from './gemini-errors.js';
import { extractImage, extractText, usageOf } from './gemini-response.js';
import { GeminiBatchClient } from './gemini-batch.js';
import { GeminiTransport } from './gemini-transport.js';

export interface GeminiProviderOptions {
  apiKey: string;
  baseUrl?: string;
  imageModel: string;
  textModel: string;
  timeoutMs: number;
  /** Told about every call (latency, HTTP status, error code): the worker's metrics. */
  onCall?: ProviderCallObserver;
  /** Batch tier: requests weighing more than this go to the Batch API as an uploaded file (default 19 MB, under its 20 MB inline limit). */
  batchInlineBytes?: number;
}

/** Gemini's output size when `imageConfig.imageSize` is not sent. */
const DEFAULT_IMAGE_SIZE = '1K';

/** Image provider backed by the Gemini API. Every failure is thrown as a ProviderError. */
export class GeminiImageProvider implements ImageProvider {
  readonly name = 'gemini' as const;
  readonly models: { readonly image: string; readonly text: string };
  readonly batch: GeminiBatchClient;
  private readonly ai: GoogleGenAI;
  private readonly transport = new GeminiTransport();

  constructor(private readonly options: GeminiProviderOptions) {
    this.models = { image: options.imageModel, text: options.textModel };
    const httpOptions = { timeout: options.timeoutMs, ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}) };
    // No SDK retries: retrying is the queue's job (with backoff and rate limiting).
    this.ai = new GoogleGenAI({ apiKey: options.apiKey, httpOptions });
    this.batch = new GeminiBatchClient(this.ai, this.transport, {
      apiKey: options.apiKey,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      maxInlineBytes: options.batchInlineBytes,
      requestParts,
      requestConfig: imageGenerationConfig,
    });
  }

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    const parts = requestParts(req);
    const model = req.model ?? this.options.imageModel;
    return this.observed('generate_image', model, req.signal, async () => {
      const inlineData = this.transport.call();
      const response = await this.call(req.signal, (abortSignal) =>
        this.ai.models.generateContent({
          model,
          contents: [{ role: 'user', parts }],
          config: { ...imageGenerationConfig(req), abortSignal, httpOptions: { fetch: inlineData.fetch } },
        }),
      );
      const usage = usageOf(response, { operation: 'generate_image', model, imageSize: req.imageSize ?? DEFAULT_IMAGE_SIZE, tier: req.tier ?? 'standard' });
      return extractImage(response, inlineData.take, usage);
    });
  }

  async enhancePrompt(req: { prompt: string; template: PromptTemplate; signal?: AbortSignal }): Promise<EnhancedPrompt> {
    const model = this.options.textModel;
    return this.observed('enhance_prompt', model, req.signal, async () => {
      const response = await this.call(req.signal, (abortSignal) =>
        this.ai.models.generateContent({
          model,
          contents: [{ role: 'user', parts: [{ text: req.prompt }] }],
          config: { systemInstruction: TEMPLATE_INSTRUCTIONS[req.template], abortSignal, httpOptions: { fetch: this.transport.call().fetch } },
        }),
      );
      const usage = usageOf(response, { operation: 'enhance_prompt', model, imageSize: null, tier: 'standard' });
      const prompt = extractText(response, usage).trim() || req.prompt;
      return usage ? { prompt, usage } : { prompt };
    });
  }

  /** Runs one call (request and reading the answer) and reports it to `onCall`. */
  private async observed<T>(operation: ProviderCall['operation'], model: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    const onCall = this.options.onCall;
    if (!onCall) return run();
    const started = performance.now();
    const report = (status: string, code: string | null) => onCall({ operation, model, status, code, durationMs: performance.now() - started });
    try {
      const result = await run();
      report('200', null);
      return result;
    } catch (err) {
      report(signal?.aborted ? 'aborted' : callStatus(err), err instanceof ProviderError ? err.code : 'INTERNAL_ERROR');
      throw err;
    }
  }

  /**
   * Runs one SDK call under our own deadline combined with the caller's signal.
   * The SDK timeout alone is not trusted: the race guarantees the promise settles
   * even if the SDK or fetch ignores the abort.
   */
  private async call(
    signal: AbortSignal | undefined,
    run: (abortSignal: AbortSignal) => Promise<GenerateContentResponse>,
  ): Promise<GenerateContentResponse> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    try {
      return await raceAbort(run(combined), combined);
    } catch (err) {
      throw classifyGeminiError(err, {
        timedOut: deadline.signal.aborted,
        cancelled: signal?.aborted ?? false,
        timeoutMs: this.options.timeoutMs,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The prompt, then each reference image as an inline part. */
export function requestParts(req: Pick<GenerateImageRequest, 'prompt' | 'referenceImages'>): Part[] {
  return [{ text: req.prompt }, ...req.referenceImages.map((img) => ({ inlineData: { mimeType: img.mimeType, data: img.data.toString('base64') } }))];
}

/**
 * The generation config of an image request (SPEC §13): the aspect ratio, the
 * size unless it is Gemini's default, and the Google Search tool for grounding.
 * The Batch API sends the same config per inlined request.
 */
export function imageGenerationConfig(req: Pick<GenerateImageRequest, 'aspectRatio' | 'imageSize' | 'groundWithSearch'>): GenerateContentConfig {
  const imageSize = req.imageSize && req.imageSize !== GEMINI_DEFAULT_IMAGE_SIZE ? { imageSize: req.imageSize } : {};
  return {
    responseModalities: ['IMAGE'],
    imageConfig: { aspectRatio: req.aspectRatio, ...imageSize },
    ...(req.groundWithSearch ? { tools: [{ googleSearch: {} }] } : {}),
  };
}

/** What the API answered, for metrics: the HTTP status, or how the call ended without one. */
function callStatus(err: unknown): string {
  if (!(err instanceof ProviderError)) return 'error';
  const cause = err.options.cause;
  if (cause instanceof ApiError) return String(cause.status);
  if (err.code === 'TIMEOUT') return 'timeout';
  if (err.code === 'PROVIDER_UNAVAILABLE') return 'network';
  // Thrown while reading a 200 answer (no image, blocked content).
  return '200';
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

function abortError(): Error {
  return new DOMException('The operation was aborted', 'AbortError');
}
