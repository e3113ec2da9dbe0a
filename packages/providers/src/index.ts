import type { ImageProvider, ProviderCallObserver } from '@banatie/core';
import { GeminiImageProvider } from './gemini.provider.js';
import { LocalImageProvider } from './local.provider.js';

export { GeminiImageProvider } from './gemini.provider.js';
export type { GeminiProviderOptions } from './gemini.provider.js';
export { LocalImageProvider, LOCAL_MODEL } from './local.provider.js';
export type { LocalProviderOptions } from './local.provider.js';

export interface CreateImageProviderOptions {
  provider: 'gemini' | 'local';
  gemini: { apiKey?: string; baseUrl?: string; imageModel: string; textModel: string; timeoutMs: number };
  /** Told about every model API call (the local provider makes none). */
  onCall?: ProviderCallObserver;
}

export function createImageProvider(opts: CreateImageProviderOptions): ImageProvider {
  if (opts.provider === 'local') return new LocalImageProvider();
  const { apiKey, ...gemini } = opts.gemini;
  if (!apiKey) throw new Error('GEMINI_API_KEY is required when the image provider is "gemini"');
  return new GeminiImageProvider({ apiKey, ...gemini, onCall: opts.onCall });
}
