import type { Readable } from 'node:stream';
import type { ProviderError } from './errors.js';
import type { AspectRatio, ImageSize, PromptTemplate } from '@banatie/contracts';

export interface StoredObjectInfo {
  size: number;
  contentType: string;
}

/** Object storage port: adapters `s3` (minio client) and `fs`. Keys are made by the server only. */
export interface ObjectStorage {
  /** Creates the bucket/root if missing. */
  init(): Promise<void>;
  /** Writes the whole object; overwrites an existing one with the same key. */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Whole object; throws ObjectNotFoundError when absent. */
  get(key: string): Promise<Buffer>;
  /** Object as a stream; throws ObjectNotFoundError when absent. */
  getStream(key: string): Promise<Readable>;
  /** null when absent. */
  stat(key: string): Promise<StoredObjectInfo | null>;
  /** No error when absent. */
  delete(key: string): Promise<void>;
  /** Deletes every object whose key starts with prefix. */
  deletePrefix(prefix: string): Promise<void>;
  /** Resolves when the backend answers (readiness); rejects with a StorageCheckError saying what is wrong. */
  ping(): Promise<void>;
}

/** What a storage check found wrong, safe to show an operator (never a credential). */
export interface StorageCheckReport {
  /** `http(s)://host:port` of an S3 server, or the directory of the fs driver. */
  endpoint: string;
  bucket?: string;
  /** The server's error code (`NoSuchBucket`, `InvalidAccessKeyId`, `AccessDenied`…) or the network's (`ECONNREFUSED`, `ETIMEDOUT`…). */
  code: string;
}

/** Storage unusable as configured: wrong bucket or credentials, or an endpoint that does not answer. */
export class StorageCheckError extends Error {
  readonly code: string;

  constructor(readonly report: StorageCheckReport, options?: { cause?: unknown }) {
    super(`storage ${report.bucket ? `bucket ${report.bucket} at ` : ''}${report.endpoint}: ${report.code}`, options);
    this.name = 'StorageCheckError';
    this.code = report.code;
  }
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

export interface InputImage {
  mimeType: string;
  data: Buffer;
}

export interface GenerateImageRequest {
  prompt: string;
  aspectRatio: string;
  referenceImages: InputImage[];
  /** A model of the capability table; undefined: the provider's configured default. */
  model?: string;
  /** `512|1K|2K|4K`; undefined: the model's default (1K). Reported in usage (pricing). */
  imageSize?: ImageSize;
  /** Adds the Google Search tool. */
  groundWithSearch?: boolean;
  /** Price tier the call is billed at; absent: `standard`. */
  tier?: PricingTier;
  signal?: AbortSignal;
}

/** Price tier of a provider call (SPEC §12, §13): `batch` is the Gemini Batch API's half price. */
export type PricingTier = 'standard' | 'batch';

/** What one billed provider call used (Gemini's `usageMetadata`), with what decides its price. */
export interface ProviderUsage {
  operation: 'generate_image' | 'enhance_prompt';
  model: string;
  /** `promptTokenCount` (text and reference images). */
  inputTokens: number;
  /** `candidatesTokenCount` (the image or the text answer). */
  outputTokens: number;
  /** `thoughtsTokenCount` (billed as output). */
  thoughtTokens: number;
  /** Images the answer carried (priced per image; their tokens are in outputTokens). */
  outputImages: number;
  /** Output image size (`512`, `1K`, `2K`, `4K`) of an image call; null for text calls. */
  imageSize: string | null;
  tier: PricingTier;
}

export interface GeneratedImage {
  data: Buffer;
  mimeType: string;
  /** Absent when the provider reported none. */
  usage?: ProviderUsage;
}

export interface EnhancedPrompt {
  prompt: string;
  usage?: ProviderUsage;
}

/** One item of a provider batch: an image request and the key its result comes back under. */
export interface BatchImageRequest extends GenerateImageRequest {
  key: string;
}

export type ProviderBatchState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** The result of one batch item: its image, or the ProviderError it ended with. */
export interface BatchItemResult {
  key: string;
  image?: GeneratedImage;
  error?: ProviderError;
}

/** A provider's asynchronous batch API (Gemini Batch API): half the price, results within 24 h. */
export interface ImageBatchProvider {
  /** Submits the items as one job named `displayName`; resolves with the provider's job name. */
  submitBatch(model: string, displayName: string, items: BatchImageRequest[]): Promise<string>;
  /** The job created with `displayName`, if any (a crash may have lost its name before it was stored). */
  findBatch(displayName: string): Promise<string | undefined>;
  /**
   * The job's state and, once it succeeded, every item's result. The results may be
   * streamed from the provider one item at a time (a results file can hold gigabytes of
   * images): read them once, in order; reading may fail midway like any provider call.
   */
  getBatch(name: string): Promise<{ state: ProviderBatchState; results: AsyncIterable<BatchItemResult> }>;
}

/**
 * Image provider port: adapters `gemini` (@google/genai) and `local` (sharp).
 * Failures are thrown as ProviderError (see errors.ts).
 */
export interface ImageProvider {
  readonly name: 'gemini' | 'local';
  /** The models its calls go to (provider quota is kept per model). */
  readonly models: { readonly image: string; readonly text: string };
  /** Present when the provider has a batch API (the batch tier uses it; without it, batch tier runs like standard). */
  readonly batch?: ImageBatchProvider;
  generateImage(req: GenerateImageRequest): Promise<GeneratedImage>;
  /**
   * Rewrites a prompt for image generation following the template's system
   * instruction. Failures are thrown as ProviderError.
   */
  enhancePrompt(req: { prompt: string; template: PromptTemplate; signal?: AbortSignal }): Promise<EnhancedPrompt>;
}

/** One call to a model API, reported once it settles (metrics); must be cheap and must not throw. */
export interface ProviderCall {
  operation: 'generate_image' | 'enhance_prompt';
  model: string;
  /** HTTP status of the answer ("200", "429"…), or `timeout`, `aborted`, `network`. */
  status: string;
  /** null when the call gave what was asked for, else the ProviderError code (e.g. a 200 with no image: NO_IMAGE). */
  code: string | null;
  durationMs: number;
}
export type ProviderCallObserver = (call: ProviderCall) => void;

export { ASPECT_RATIOS, PROMPT_TEMPLATES, type AspectRatio, type PromptTemplate } from '@banatie/contracts';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
