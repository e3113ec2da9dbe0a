import { ProviderError, TEMPLATE_SUFFIXES } from '@banatie/core';
import type { EnhancedPrompt, GenerateImageRequest, GeneratedImage, ImageProvider, PromptTemplate, ProviderUsage } from '@banatie/core';
import { drawLocalImage, outputSize } from './local-image.js';

export interface LocalProviderOptions {
  /** Artificial latency before drawing (tests); aborting req.signal ends the wait. */
  delayMs?: number;
}

/** The model name the local provider reports in usage (priced at 0 unless PRICING_FILE says otherwise). */
export const LOCAL_MODEL = 'local';
/** Plausible counts in Gemini's units: one 1K output image is 1290 tokens, one input image 258. */
const IMAGE_OUTPUT_TOKENS = 1290;
const IMAGE_INPUT_TOKENS = 258;

/** Offline provider: draws a deterministic image from the prompt and references, no network. */
export class LocalImageProvider implements ImageProvider {
  readonly name = 'local' as const;
  readonly models = { image: 'local-image', text: 'local-text' } as const;

  constructor(private readonly options: LocalProviderOptions = {}) {}

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    await wait(this.options.delayMs ?? 0, req.signal);
    const data = await drawLocalImage(req.prompt, outputSize(req.aspectRatio, req.model, req.imageSize), req.referenceImages);
    const usage: ProviderUsage = {
      operation: 'generate_image',
      model: req.model ?? LOCAL_MODEL,
      inputTokens: textTokens(req.prompt) + IMAGE_INPUT_TOKENS * req.referenceImages.length,
      outputTokens: IMAGE_OUTPUT_TOKENS,
      thoughtTokens: 0,
      outputImages: 1,
      imageSize: req.imageSize ?? '1K',
      tier: req.tier ?? 'standard',
    };
    return { data, mimeType: 'image/png', usage };
  }

  async enhancePrompt(req: { prompt: string; template: PromptTemplate; signal?: AbortSignal }): Promise<EnhancedPrompt> {
    if (req.signal?.aborted) throw abortedError();
    const prompt = `${req.prompt}, ${TEMPLATE_SUFFIXES[req.template]}`;
    const usage: ProviderUsage = {
      operation: 'enhance_prompt',
      model: LOCAL_MODEL,
      inputTokens: textTokens(req.prompt),
      outputTokens: textTokens(prompt),
      thoughtTokens: 0,
      outputImages: 0,
      imageSize: null,
      tier: 'standard',
    };
    return { prompt, usage };
  }
}

/** About four characters a token, as Gemini counts English text. */
function textTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortedError(): ProviderError {
  return new ProviderError('TIMEOUT', 'The image generation was aborted', true);
}
