import { ProviderError, TEMPLATE_SUFFIXES } from '@banatie/core';
import type { GenerateImageRequest, GeneratedImage, ImageProvider, PromptTemplate } from '@banatie/core';
import { drawLocalImage, outputSize } from './local-image.js';

export interface LocalProviderOptions {
  /** Artificial latency before drawing (tests); aborting req.signal ends the wait. */
  delayMs?: number;
}

/** Offline provider: draws a deterministic image from the prompt and references, no network. */
export class LocalImageProvider implements ImageProvider {
  readonly name = 'local' as const;

  constructor(private readonly options: LocalProviderOptions = {}) {}

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    await wait(this.options.delayMs ?? 0, req.signal);
    const data = await drawLocalImage(req.prompt, outputSize(req.aspectRatio, req.model, req.imageSize), req.referenceImages);
    return { data, mimeType: 'image/png' };
  }

  async enhancePrompt(req: { prompt: string; template: PromptTemplate; signal?: AbortSignal }): Promise<string> {
    if (req.signal?.aborted) throw abortedError();
    return `${req.prompt}, ${TEMPLATE_SUFFIXES[req.template]}`;
  }
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
