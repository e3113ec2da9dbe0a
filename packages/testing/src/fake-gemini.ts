import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { encodeBmp } from './bmp.js';

/**
 * Fake Gemini API speaking the real wire format of
 * `POST /v1beta/models/{model}:generateContent` (and `/v1/`).
 * Image models (name contains "image") follow the scripted behaviours;
 * text models answer a rewritten prompt unless text behaviours are scripted.
 */

export type FakeGeminiBehaviour =
  | { kind: 'image'; delayMs?: number; mimeType?: string; noise?: NoiseImage }
  | { kind: 'error'; status: number; retryDelay?: string; message?: string }
  | { kind: 'safety'; level: 'prompt' | 'candidate'; reason?: string }
  | { kind: 'text'; text?: string }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number };

/** A fixed random-noise PNG of this size instead of the prompt's colour (about width×height×channels bytes; for benchmarks). */
export interface NoiseImage {
  width: number;
  height: number;
  /** 3 (RGB, default) or 1 (grey: a 4096×4096 image is then a ~17 MB PNG, the size of a real 4K answer). */
  channels?: 1 | 3;
}

export interface GeminiWirePart {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType?: string; data?: string };
}

export interface GeminiWireBody {
  contents?: Array<{ role?: string; parts?: GeminiWirePart[] }>;
  generationConfig?: { responseModalities?: string[]; imageConfig?: { aspectRatio?: string; imageSize?: string } };
  systemInstruction?: { role?: string; parts?: GeminiWirePart[] };
  [key: string]: unknown;
}

export interface FakeGeminiRequest {
  model: string;
  path: string;
  body: GeminiWireBody;
  headers: IncomingHttpHeaders;
  /** Text parts of the request contents, joined with newlines. */
  text: string;
  inlineDataCount: number;
  aspectRatio: string | null;
  /** Date.now() when the request arrived. */
  receivedAt: number;
  /** The `usageMetadata` the fake answered with (null: no answer with usage, e.g. an error). */
  usage: FakeGeminiUsage | null;
}

/** Gemini's `usageMetadata` wire fields (thoughtsTokenCount only for thinking models). */
export interface FakeGeminiUsage {
  promptTokenCount: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount: number;
}

export interface FakeGemini {
  /** e.g. http://127.0.0.1:PORT — pass as GEMINI_BASE_URL / httpOptions.baseUrl. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every generateContent request, in arrival order. */
  readonly requests: FakeGeminiRequest[];
  /** Queues one-shot behaviours for image-model requests, consumed in order. */
  script(...behaviours: FakeGeminiBehaviour[]): void;
  /** Queues one-shot behaviours for text-model (prompt enhancement) requests. */
  scriptText(...behaviours: FakeGeminiBehaviour[]): void;
  /** Behaviour for image-model requests once the script is empty (initially `{ kind: 'image' }`). */
  setDefault(behaviour: FakeGeminiBehaviour): void;
  /** Behaviour for text-model requests once their script is empty; `null` restores the rewrite. */
  setTextDefault(behaviour: FakeGeminiBehaviour | null): void;
  /**
   * A quota storm: for the next `ms`, every image-model request is answered 429 with
   * this RetryInfo delay (e.g. "2s"), whatever is scripted. Returns when it ends (Date.now()).
   */
  rateLimitFor(ms: number, retryDelay: string): number;
  /**
   * Batch API jobs created through `models/{model}:batchGenerateContent`, in order. They stay
   * `BATCH_STATE_PENDING` until `finishBatches` settles them.
   */
  readonly batches: FakeGeminiBatch[];
  /**
   * Settles every unfinished batch: `BATCH_STATE_SUCCEEDED` answers each request with the
   * next image behaviour (script, then default), as generateContent would — inlined
   * responses for inlined requests, a results file (`output.responsesFile`) for an input
   * file; another state ends the job without output.
   */
  finishBatches(state?: 'BATCH_STATE_SUCCEEDED' | 'BATCH_STATE_FAILED' | 'BATCH_STATE_EXPIRED'): Promise<void>;
  /** Files stored through the Files API (uploaded batch inputs and batch results), by name (`files/<id>`). */
  readonly files: Map<string, FakeGeminiFile>;
  /** Clears scripts, defaults, a storm, recorded requests, batches and files. */
  reset(): void;
  /** Stops the server, destroying hung connections. */
  close(): Promise<void>;
}

const MODEL_PATH = /^\/(?:v1beta|v1|v1alpha)\/models\/([^/:]+):generateContent$/;
const BATCH_CREATE_PATH = /^\/(?:v1beta|v1|v1alpha)\/models\/([^/:]+):batchGenerateContent$/;
const BATCH_PATH = /^\/(?:v1beta|v1|v1alpha)\/batches\/([^/:]+)(:cancel)?$/;
const BATCH_LIST_PATH = /^\/(?:v1beta|v1|v1alpha)\/batches$/;
const UPLOAD_PATH = /^\/upload\/(?:v1beta|v1|v1alpha)\/files$/;
const FILE_PATH = /^\/(?:v1beta|v1|v1alpha)\/files\/([^/:]+)$/;
/** The SDK's `files.download` (`/v1beta/files/{id}:download`) and Google's documented media URL (`/download/v1beta/…`). */
const FILE_DOWNLOAD_PATH = /^(?:\/download)?\/(?:v1beta|v1|v1alpha)\/files\/([^/:]+):download$/;

/** A file as the fake's Files API keeps it. */
export interface FakeGeminiFile {
  /** `files/<id>` */
  name: string;
  displayName: string | null;
  mimeType: string;
  data: Buffer;
  createTime: string;
}

/** One Batch API job as the fake keeps it. */
export interface FakeGeminiBatch {
  /** `batches/<id>` */
  name: string;
  model: string;
  displayName: string | null;
  state: string;
  /** The requests as sent: `{request, metadata}` inlined; from an input file, `{request, key}` per line. */
  requests: Array<{ request: GeminiWireBody; metadata?: Record<string, unknown>; key?: string }>;
  /** The input file's name (`files/<id>`) when the job was created from one, else null (inlined). */
  inputFile: string | null;
  /** The results file's name once a file job succeeded. */
  responsesFile: string | null;
  /** Per request, once succeeded: `{response}` or `{error}` with the request's metadata. */
  responses: Array<Record<string, unknown>> | null;
  createTime: string;
  updateTime: string;
}
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const IMAGE_LONG_SIDE = 128;
const BEHAVIOUR_KINDS = new Set(['image', 'error', 'safety', 'text', 'hang', 'delay']);
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};
const STATUS_MESSAGES: Record<number, string> = {
  400: 'Request contains an invalid argument.',
  401: 'API key not valid. Please pass a valid API key.',
  403: 'The caller does not have permission',
  404: 'Requested entity was not found.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
  504: 'Deadline expired before operation could complete.',
};

/** The RGB colour of the fake's final image for a prompt (first three SHA-256 bytes). */
export function fakeImageColour(prompt: string): { r: number; g: number; b: number } {
  const digest = createHash('sha256').update(prompt, 'utf8').digest();
  return { r: digest[0], g: digest[1], b: digest[2] };
}

export async function startFakeGemini(opts: { port?: number; host?: string } = {}): Promise<FakeGemini> {
  const host = opts.host ?? '127.0.0.1';
  const state = new FakeState();
  const closing = new AbortController();
  const server = createServer((req, res) => {
    handle(req, res, state, closing.signal).catch((err: unknown) => sendInternal(res, err));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    baseUrl: `http://${urlHost}:${port}`,
    port,
    requests: state.requests,
    script: (...b) => state.imageScript.push(...b),
    scriptText: (...b) => state.textScript.push(...b),
    setDefault: (b) => (state.imageDefault = b),
    setTextDefault: (b) => (state.textDefault = b),
    rateLimitFor: (ms, retryDelay) => {
      state.storm = { until: Date.now() + ms, retryDelay };
      return state.storm.until;
    },
    batches: state.batches,
    files: state.files,
    finishBatches: (batchState = 'BATCH_STATE_SUCCEEDED') => finishBatches(state, batchState),
    reset: () => state.reset(),
    close: async () => {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

class FakeState {
  readonly requests: FakeGeminiRequest[] = [];
  readonly imageScript: FakeGeminiBehaviour[] = [];
  readonly textScript: FakeGeminiBehaviour[] = [];
  imageDefault: FakeGeminiBehaviour = { kind: 'image' };
  textDefault: FakeGeminiBehaviour | null = null;
  storm: { until: number; retryDelay: string } | null = null;
  readonly batches: FakeGeminiBatch[] = [];
  readonly files = new Map<string, FakeGeminiFile>();
  /** Resumable uploads started and not yet finalised, by upload id. */
  readonly uploads = new Map<string, { displayName: string | null; mimeType: string; chunks: Buffer[] }>();

  next(model: string): FakeGeminiBehaviour | null {
    if (isImageModel(model) && this.storm && Date.now() < this.storm.until) return { kind: 'error', status: 429, retryDelay: this.storm.retryDelay };
    if (isImageModel(model)) return this.imageScript.shift() ?? this.imageDefault;
    return this.textScript.shift() ?? this.textDefault;
  }

  reset(): void {
    this.requests.length = 0;
    this.imageScript.length = 0;
    this.textScript.length = 0;
    this.imageDefault = { kind: 'image' };
    this.textDefault = null;
    this.storm = null;
    this.batches.length = 0;
    this.files.clear();
    this.uploads.clear();
  }
}

function isImageModel(model: string): boolean {
  return model.toLowerCase().includes('image');
}

async function handle(req: IncomingMessage, res: ServerResponse, state: FakeState, closing: AbortSignal): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  if (url.pathname.startsWith('/__control/')) return handleControl(req, res, url.pathname, state);
  if (UPLOAD_PATH.test(url.pathname) || FILE_PATH.test(url.pathname) || FILE_DOWNLOAD_PATH.test(url.pathname)) {
    if (!req.headers['x-goog-api-key'] && !url.searchParams.get('key')) return sendError(res, 401);
    return handleFiles(req, res, url, state);
  }
  if (BATCH_CREATE_PATH.test(url.pathname) || BATCH_PATH.test(url.pathname) || BATCH_LIST_PATH.test(url.pathname)) {
    if (!req.headers['x-goog-api-key'] && !url.searchParams.get('key')) return sendError(res, 401);
    return handleBatch(req, res, url, state);
  }
  const match = MODEL_PATH.exec(url.pathname);
  if (!match || req.method !== 'POST') return sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
  const body = parseJson(await readBody(req));
  if (!isObject(body)) return sendError(res, 400, 'Invalid JSON payload received.');
  const model = decodeURIComponent(match[1]);
  const record = recordRequest(model, url.pathname, body as GeminiWireBody, req.headers);
  state.requests.push(record);
  if (!req.headers['x-goog-api-key'] && !url.searchParams.get('key')) return sendError(res, 401);
  await respond(state.next(model), { model, body: body as GeminiWireBody, res, closing, record });
}

function recordRequest(model: string, path: string, body: GeminiWireBody, headers: IncomingHttpHeaders): FakeGeminiRequest {
  const parts = (body.contents ?? []).flatMap((c) => c.parts ?? []);
  return {
    model,
    path,
    body,
    headers,
    text: promptText(body),
    inlineDataCount: parts.filter((p) => p.inlineData).length,
    aspectRatio: body.generationConfig?.imageConfig?.aspectRatio ?? null,
    receivedAt: Date.now(),
    usage: null,
  };
}

function promptText(body: GeminiWireBody): string {
  const parts = (body.contents ?? []).flatMap((c) => c.parts ?? []);
  return parts
    .filter((p) => typeof p.text === 'string' && !p.thought)
    .map((p) => p.text)
    .join('\n');
}

/** What a usage count needs: the model and the request (and, when answering one, its record). */
interface UsageContext {
  model: string;
  body: GeminiWireBody;
  record?: FakeGeminiRequest;
}

interface RespondContext extends UsageContext {
  res: ServerResponse;
  closing: AbortSignal;
  record: FakeGeminiRequest;
}

async function respond(behaviour: FakeGeminiBehaviour | null, ctx: RespondContext): Promise<void> {
  const { res } = ctx;
  if (!behaviour) return sendJson(res, 200, textResponse(rewritePrompt(promptText(ctx.body)), ctx));
  switch (behaviour.kind) {
    case 'hang':
      return; // the socket stays open until the client goes away or close() destroys it
    case 'delay':
      if (await pause(behaviour.ms, ctx)) await sendImage(ctx, {});
      return;
    case 'image':
      if (await pause(behaviour.delayMs ?? 0, ctx)) await sendImage(ctx, behaviour);
      return;
    case 'error':
      return sendError(res, behaviour.status, behaviour.message, behaviour.retryDelay);
    case 'safety':
      return sendJson(res, 200, safetyResponse(behaviour.level, behaviour.reason, ctx));
    case 'text':
      return sendJson(res, 200, textResponse(behaviour.text ?? defaultTextAnswer(ctx.body), ctx));
  }
}

/** Waits ms; false when the client disconnected or the server is closing meanwhile. */
async function pause(ms: number, { res, closing }: RespondContext): Promise<boolean> {
  if (ms > 0) {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    try {
      await sleep(ms, undefined, { signal: AbortSignal.any([gone.signal, closing]) });
    } catch {
      return false;
    }
  }
  return !res.destroyed && !res.writableEnded;
}

async function sendImage(ctx: RespondContext, opts: { mimeType?: string; noise?: NoiseImage }): Promise<void> {
  const isTextModel = !isImageModel(ctx.model);
  if (isTextModel) return sendJson(ctx.res, 200, textResponse(rewritePrompt(promptText(ctx.body)), ctx));
  if (opts.noise) {
    ctx.record.usage = NOISE_USAGE;
    return sendBody(ctx.res, 200, await noiseResponse(opts.noise, ctx.model));
  }
  const prompt = promptText(ctx.body);
  const mimeType = opts.mimeType ?? 'image/png';
  const aspectRatio = ctx.body.generationConfig?.imageConfig?.aspectRatio ?? '1:1';
  const final = await encode(imageCanvas(prompt, aspectRatio), mimeType);
  const usage = reportUsage(ctx, imageOutputTokens(ctx.body));
  sendJson(ctx.res, 200, candidateResponse(await imageParts(final, mimeType), 'STOP', ctx.model, usage));
}

/** Like thinking image models: a thought with a draft image, a caption, then the final image. */
async function imageParts(final: Buffer, mimeType: string): Promise<GeminiWirePart[]> {
  return [
    { text: 'Sketching the composition first.', thought: true },
    { inlineData: { mimeType: 'image/png', data: (await draftPng()).toString('base64') }, thought: true },
    { text: 'Here is the image you asked for.' },
    { inlineData: { mimeType, data: final.toString('base64') } },
  ];
}

const noiseResponses = new Map<string, Promise<Buffer>>();

/**
 * The whole answer (~270 KB of JSON) serialised once per size and model, so a
 * benchmark measures the service and not this fake's encoders (its responseId is fixed).
 */
function noiseResponse(noise: NoiseImage, model: string): Promise<Buffer> {
  const key = `${noise.width}x${noise.height}x${noise.channels ?? 3}:${model}`;
  let body = noiseResponses.get(key);
  if (!body) {
    body = noisePng(noise).then(async (png) =>
      Buffer.from(JSON.stringify(candidateResponse(await imageParts(png, 'image/png'), 'STOP', model, NOISE_USAGE))),
    );
    noiseResponses.set(key, body);
  }
  return body;
}

let draft: Promise<Buffer> | undefined;

/** The thought's draft image is always the same grey square: encoded once. */
function draftPng(): Promise<Buffer> {
  draft ??= encode(sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }), 'image/png');
  return draft;
}

const noiseCache = new Map<string, Promise<Buffer>>();

/** Encoded once per size, so a benchmark measures the service and not this fake's encoder. */
function noisePng({ width, height, channels = 3 }: NoiseImage): Promise<Buffer> {
  const key = `${width}x${height}x${channels}`;
  let png = noiseCache.get(key);
  if (!png) {
    const pixels = Buffer.alloc(width * height * channels);
    let seed = 0x2545f491;
    for (let i = 0; i < pixels.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; // 32-bit LCG: exact in JS, unlike a float product
      pixels[i] = seed >>> 24;
    }
    const image = sharp(pixels, { raw: { width, height, channels } });
    // sharp writes sRGB unless told otherwise: a grey PNG keeps one channel.
    png = (channels === 1 ? image.toColourspace('b-w') : image).png({ compressionLevel: 1 }).toBuffer();
    noiseCache.set(key, png);
  }
  return png;
}

function imageCanvas(prompt: string, aspectRatio: string): Sharp {
  const [w, h] = aspectRatio.split(':').map(Number);
  const valid = w > 0 && h > 0;
  const width = valid && h > w ? Math.round((IMAGE_LONG_SIDE * w) / h) : IMAGE_LONG_SIDE;
  const height = valid && w > h ? Math.round((IMAGE_LONG_SIDE * h) / w) : IMAGE_LONG_SIDE;
  return sharp({ create: { width, height, channels: 3, background: fakeImageColour(prompt) } });
}

async function encode(image: Sharp, mimeType: string): Promise<Buffer> {
  if (mimeType === 'image/jpeg') return image.jpeg().toBuffer();
  if (mimeType === 'image/webp') return image.webp({ lossless: true }).toBuffer();
  if (mimeType === 'image/gif') return image.gif().toBuffer();
  if (mimeType === 'image/tiff') return image.tiff().toBuffer();
  if (mimeType === 'image/bmp') {
    const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return encodeBmp(data, info.width, info.height);
  }
  return image.png().toBuffer();
}

function rewritePrompt(prompt: string): string {
  return `${prompt.trim()}, highly detailed, balanced composition, soft natural lighting`;
}

function defaultTextAnswer(body: GeminiWireBody): string {
  return `I can't draw that, but here is a description instead: ${promptText(body).slice(0, 100)}`;
}

function textResponse(text: string, ctx: UsageContext): object {
  return candidateResponse([{ text }], 'STOP', ctx.model, reportUsage(ctx, textTokens(text)));
}

function candidateResponse(parts: GeminiWirePart[], finishReason: string, model: string, usageMetadata: FakeGeminiUsage): object {
  return {
    candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }],
    usageMetadata,
    modelVersion: model,
    responseId: randomUUID(),
  };
}

/** A refused answer is billed for its prompt (and, for a refused image, for the model's thinking). */
function safetyResponse(level: 'prompt' | 'candidate', reason: string | undefined, ctx: UsageContext): object {
  const usageMetadata = reportUsage(ctx, 0);
  if (level === 'prompt') {
    return { promptFeedback: { blockReason: reason ?? 'PROHIBITED_CONTENT' }, usageMetadata, modelVersion: ctx.model };
  }
  return { candidates: [{ finishReason: reason ?? 'IMAGE_SAFETY', index: 0 }], usageMetadata, modelVersion: ctx.model };
}

/** Fixed usage of the cached benchmark answer. */
const NOISE_USAGE: FakeGeminiUsage = { promptTokenCount: 12, candidatesTokenCount: 1290, totalTokenCount: 1302 };
/** Gemini's count for one input image (up to 384 px a side; the fake does not tile larger ones). */
const INPUT_IMAGE_TOKENS = 258;
/** The fake's output tokens of one image by `imageConfig.imageSize`: made-up, growing with size (only 1K's 1290 is Gemini 2.5 Flash Image's real count). */
const IMAGE_OUTPUT_TOKENS: Record<string, number> = { '512': 747, '1K': 1290, '2K': 1680, '4K': 2520 };

function imageOutputTokens(body: GeminiWireBody): number {
  return IMAGE_OUTPUT_TOKENS[body.generationConfig?.imageConfig?.imageSize ?? '1K'] ?? 1290;
}

function textTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Deterministic counts that differ between requests (so a test summing them
 * can tell one call from another): prompt text and input images; thinking
 * (Gemini 3 models) adds thought tokens. Recorded on the request.
 */
function reportUsage(ctx: UsageContext, candidatesTokenCount: number): FakeGeminiUsage {
  const inlineDataCount = (ctx.body.contents ?? []).flatMap((c) => c.parts ?? []).filter((p) => p.inlineData).length;
  const promptTokenCount = textTokens(promptText(ctx.body)) + INPUT_IMAGE_TOKENS * inlineDataCount;
  const thoughtsTokenCount = ctx.model.startsWith('gemini-3') ? 100 + (promptTokenCount % 97) : 0;
  const usage: FakeGeminiUsage = {
    promptTokenCount,
    ...(candidatesTokenCount > 0 && { candidatesTokenCount }),
    ...(thoughtsTokenCount > 0 && { thoughtsTokenCount }),
    totalTokenCount: promptTokenCount + candidatesTokenCount + thoughtsTokenCount,
  };
  if (ctx.record) ctx.record.usage = usage;
  return usage;
}

function sendError(res: ServerResponse, status: number, message?: string, retryDelay?: string): void {
  const error: Record<string, unknown> = {
    code: status,
    message: message ?? STATUS_MESSAGES[status] ?? `HTTP ${status}`,
    status: STATUS_NAMES[status] ?? (status >= 500 ? 'UNAVAILABLE' : 'FAILED_PRECONDITION'),
  };
  if (status === 429) {
    error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: retryDelay ?? '1s' }];
  }
  sendJson(res, status, { error });
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  sendBody(res, status, JSON.stringify(payload));
}

function sendBody(res: ServerResponse, status: number, body: string | Buffer): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendInternal(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendError(res, 500, `Fake Gemini failed: ${err instanceof Error ? err.message : String(err)}`);
}

async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, state: FakeState): Promise<void> {
  const route = `${req.method} ${path}`;
  if (route === 'GET /__control/requests') return sendJson(res, 200, state.requests.map(summarise));
  if (route === 'POST /__control/reset') {
    state.reset();
    return sendJson(res, 200, { ok: true });
  }
  const payload = parseJson(await readBody(req));
  switch (route) {
    case 'POST /__control/script':
    case 'POST /__control/script-text': {
      if (!Array.isArray(payload) || !payload.every(isBehaviour)) return sendControlError(res, 'expected an array of behaviours');
      (route.endsWith('script') ? state.imageScript : state.textScript).push(...payload);
      return sendJson(res, 200, { ok: true });
    }
    case 'POST /__control/default':
      if (!isBehaviour(payload)) return sendControlError(res, 'expected a behaviour');
      state.imageDefault = payload;
      return sendJson(res, 200, { ok: true });
    case 'POST /__control/text-default':
      if (payload !== null && !isBehaviour(payload)) return sendControlError(res, 'expected a behaviour or null');
      state.textDefault = payload;
      return sendJson(res, 200, { ok: true });
    default:
      return sendJson(res, 404, { error: `unknown control route ${route}` });
  }
}

function summarise(r: FakeGeminiRequest): object {
  return { model: r.model, path: r.path, text: r.text, inlineDataCount: r.inlineDataCount, aspectRatio: r.aspectRatio, usage: r.usage };
}

function sendControlError(res: ServerResponse, message: string): void {
  sendJson(res, 400, { error: message });
}

function isBehaviour(value: unknown): value is FakeGeminiBehaviour {
  return isObject(value) && typeof value.kind === 'string' && BEHAVIOUR_KINDS.has(value.kind);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBytes(req)).toString('utf8');
}

function readBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// ---- Batch API (the Gemini Developer API wire format the @google/genai SDK speaks)

async function handleBatch(req: IncomingMessage, res: ServerResponse, url: URL, state: FakeState): Promise<void> {
  const create = BATCH_CREATE_PATH.exec(url.pathname);
  if (create && req.method === 'POST') {
    const body = parseJson(await readBody(req)) as
      | { batch?: { displayName?: string; inputConfig?: { requests?: { requests?: FakeGeminiBatch['requests'] }; fileName?: string } } }
      | undefined;
    const inputFile = body?.batch?.inputConfig?.fileName ?? null;
    const file = inputFile === null ? undefined : state.files.get(inputFile);
    if (inputFile !== null && !file) return sendError(res, 400, `Input file not found: ${inputFile}`);
    const requests = file ? fileRequests(file) : body?.batch?.inputConfig?.requests?.requests;
    if (!Array.isArray(requests) || requests.length === 0) {
      return sendError(res, 400, file ? `${inputFile} holds no valid {key, request} line` : 'batch.inputConfig.requests.requests or batch.inputConfig.fileName is required');
    }
    const now = new Date().toISOString();
    const batch: FakeGeminiBatch = {
      name: `batches/${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      model: decodeURIComponent(create[1]),
      displayName: body?.batch?.displayName ?? null,
      state: 'BATCH_STATE_PENDING',
      requests,
      inputFile,
      responsesFile: null,
      responses: null,
      createTime: now,
      updateTime: now,
    };
    state.batches.push(batch);
    return sendJson(res, 200, batchOperation(batch));
  }
  if (BATCH_LIST_PATH.test(url.pathname) && req.method === 'GET') {
    return sendJson(res, 200, { operations: state.batches.map(batchOperation) });
  }
  const one = BATCH_PATH.exec(url.pathname);
  const batch = one && state.batches.find((b) => b.name === `batches/${one[1]}`);
  if (!batch) return sendError(res, 404, `Batch not found: ${url.pathname}`);
  if (one![2] && req.method === 'POST') {
    if (!isFinished(batch)) Object.assign(batch, { state: 'BATCH_STATE_CANCELLED', updateTime: new Date().toISOString() });
    return sendJson(res, 200, {});
  }
  if (!one![2] && req.method === 'GET') return sendJson(res, 200, batchOperation(batch));
  return sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
}

function isFinished(batch: FakeGeminiBatch): boolean {
  return !['BATCH_STATE_PENDING', 'BATCH_STATE_RUNNING'].includes(batch.state);
}

/** A batch as `batches.get`/`create` answer it: a long-running operation whose metadata is the GenerateContentBatch. */
function batchOperation(batch: FakeGeminiBatch): object {
  const done = isFinished(batch);
  const metadata = {
    '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch',
    model: `models/${batch.model}`,
    displayName: batch.displayName ?? undefined,
    state: batch.state,
    createTime: batch.createTime,
    updateTime: batch.updateTime,
    ...(done ? { endTime: batch.updateTime } : {}),
    batchStats: { requestCount: String(batch.requests.length) },
    ...(batch.responsesFile ? { output: { responsesFile: batch.responsesFile } } : batch.responses ? { output: { inlinedResponses: { inlinedResponses: batch.responses } } } : {}),
  };
  return { name: batch.name, metadata, ...(done ? { done: true } : {}) };
}

async function finishBatches(state: FakeState, batchState: string): Promise<void> {
  for (const batch of state.batches.filter((b) => !isFinished(b))) {
    if (batchState === 'BATCH_STATE_SUCCEEDED') {
      batch.responses = [];
      for (const item of batch.requests) {
        const result = await batchItemResult(state.next(batch.model), batch.model, item.request);
        if (batch.inputFile) batch.responses.push({ key: item.key, ...result });
        else batch.responses.push({ ...result, ...(item.metadata ? { metadata: item.metadata } : {}) });
      }
      if (batch.inputFile) {
        const lines = batch.responses.map((line) => `${JSON.stringify(line)}\n`).join('');
        batch.responsesFile = storeFile(state, { displayName: `${batch.name} results`, mimeType: 'application/jsonl', data: Buffer.from(lines) }).name;
      }
    }
    Object.assign(batch, { state: batchState, updateTime: new Date().toISOString() });
  }
}

/** What generateContent would have answered, as an inlined response (`{response}` or `{error}`). */
async function batchItemResult(behaviour: FakeGeminiBehaviour | null, model: string, body: GeminiWireBody): Promise<Record<string, unknown>> {
  switch (behaviour?.kind) {
    case 'error':
      return { error: { code: behaviour.status, message: behaviour.message ?? STATUS_MESSAGES[behaviour.status] ?? 'Error', status: STATUS_NAMES[behaviour.status] ?? 'UNKNOWN' } };
    case 'safety':
      return { response: safetyResponse(behaviour.level, behaviour.reason, { model, body }) };
    case 'text':
      return { response: textResponse(behaviour.text ?? defaultTextAnswer(body), { model, body }) };
    default: {
      if (behaviour?.kind === 'image' && behaviour.noise) {
        return { response: candidateResponse(await imageParts(await noisePng(behaviour.noise), 'image/png'), 'STOP', model, NOISE_USAGE) };
      }
      const prompt = promptText(body);
      const mimeType = behaviour?.kind === 'image' ? (behaviour.mimeType ?? 'image/png') : 'image/png';
      const final = await encode(imageCanvas(prompt, body.generationConfig?.imageConfig?.aspectRatio ?? '1:1'), mimeType);
      return { response: candidateResponse(await imageParts(final, mimeType), 'STOP', model, reportUsage({ model, body }, imageOutputTokens(body))) };
    }
  }
}

// ---- Files API (resumable upload, metadata, media download), as the @google/genai SDK speaks it

async function handleFiles(req: IncomingMessage, res: ServerResponse, url: URL, state: FakeState): Promise<void> {
  if (UPLOAD_PATH.test(url.pathname) && req.method === 'POST') return handleUpload(req, res, url, state);
  const download = FILE_DOWNLOAD_PATH.exec(url.pathname);
  if (download && req.method === 'GET') {
    const file = state.files.get(`files/${download[1]}`);
    if (!file) return sendError(res, 404, `File not found: files/${download[1]}`);
    if (url.searchParams.get('alt') !== 'media') return sendJson(res, 200, fileResource(file));
    res.writeHead(200, { 'content-type': file.mimeType, 'content-length': file.data.length });
    res.end(file.data);
    return;
  }
  const one = FILE_PATH.exec(url.pathname);
  const file = one && state.files.get(`files/${one[1]}`);
  if (!file) return sendError(res, 404, `File not found: ${url.pathname}`);
  if (req.method === 'GET') return sendJson(res, 200, fileResource(file));
  if (req.method === 'DELETE') {
    state.files.delete(file.name);
    return sendJson(res, 200, {});
  }
  return sendError(res, 404, `Not found: ${req.method} ${url.pathname}`);
}

/**
 * `X-Goog-Upload-Command: start` (JSON body `{file: {displayName, mimeType, sizeBytes}}`)
 * answers the upload URL in `X-Goog-Upload-URL`; then `upload` chunks at
 * `X-Goog-Upload-Offset`, the last one `upload, finalize`, answered `{file}`.
 */
async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL, state: FakeState): Promise<void> {
  const command = String(req.headers['x-goog-upload-command'] ?? '');
  const uploadId = url.searchParams.get('upload_id');
  if (command === 'start') {
    if (req.headers['x-goog-upload-protocol'] !== 'resumable') return sendError(res, 400, 'X-Goog-Upload-Protocol: resumable is required');
    const body = parseJson(await readBody(req)) as { file?: { displayName?: string; mimeType?: string } } | undefined;
    const id = randomUUID().replace(/-/g, '');
    const mimeType = body?.file?.mimeType ?? String(req.headers['x-goog-upload-header-content-type'] ?? 'application/octet-stream');
    state.uploads.set(id, { displayName: body?.file?.displayName ?? null, mimeType, chunks: [] });
    const uploadUrl = `http://${req.headers.host}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`;
    res.writeHead(200, { 'x-goog-upload-url': uploadUrl, 'x-goog-upload-status': 'active', 'content-length': 0 });
    res.end();
    return;
  }
  const upload = uploadId ? state.uploads.get(uploadId) : undefined;
  if (!upload) return sendError(res, 404, `Upload not found: ${uploadId}`);
  const chunk = await readBytes(req);
  const offset = Number(req.headers['x-goog-upload-offset']);
  const received = upload.chunks.reduce((sum, c) => sum + c.length, 0);
  if (offset !== received) return sendError(res, 400, `X-Goog-Upload-Offset ${offset} is not the ${received} bytes received`);
  upload.chunks.push(chunk);
  const commands = command.split(',').map((c) => c.trim());
  if (!commands.includes('upload')) return sendError(res, 400, `Unknown X-Goog-Upload-Command: ${command}`);
  if (!commands.includes('finalize')) {
    res.writeHead(200, { 'x-goog-upload-status': 'active', 'content-length': 0 });
    res.end();
    return;
  }
  state.uploads.delete(uploadId!);
  const file = storeFile(state, { displayName: upload.displayName, mimeType: upload.mimeType, data: Buffer.concat(upload.chunks) });
  const body = JSON.stringify({ file: fileResource(file) });
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'x-goog-upload-status': 'final', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function storeFile(state: FakeState, file: Omit<FakeGeminiFile, 'name' | 'createTime'>): FakeGeminiFile {
  const stored = { ...file, name: `files/${randomUUID().replace(/-/g, '').slice(0, 12)}`, createTime: new Date().toISOString() };
  state.files.set(stored.name, stored);
  return stored;
}

/** A `File` resource as the Files API answers it. */
function fileResource(file: FakeGeminiFile): object {
  const expiration = new Date(Date.parse(file.createTime) + 48 * 3600 * 1000).toISOString();
  return {
    name: file.name,
    ...(file.displayName ? { displayName: file.displayName } : {}),
    mimeType: file.mimeType,
    sizeBytes: String(file.data.length),
    createTime: file.createTime,
    updateTime: file.createTime,
    expirationTime: expiration,
    sha256Hash: createHash('sha256').update(file.data).digest('base64'),
    uri: `https://generativelanguage.googleapis.com/v1beta/${file.name}`,
    state: 'ACTIVE',
    source: 'UPLOADED',
  };
}

/** An input file's `{key, request}` lines as batch requests; a line without both is skipped (Gemini would fail it). */
function fileRequests(file: FakeGeminiFile): FakeGeminiBatch['requests'] {
  const requests: FakeGeminiBatch['requests'] = [];
  for (const line of file.data.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const parsed = parseJson(line) as { key?: unknown; request?: unknown } | undefined;
    if (typeof parsed?.key === 'string' && isObject(parsed.request)) requests.push({ key: parsed.key, request: parsed.request as GeminiWireBody });
  }
  return requests;
}
