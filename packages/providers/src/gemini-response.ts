import type { Candidate, GenerateContentResponse, Part } from '@google/genai';
import { ProviderError } from '@banatie/core';
import type { GeneratedImage, ProviderUsage } from '@banatie/core';

/**
 * finishReasons that mean "no image because of a policy/safety filter".
 * `NO_IMAGE` is deliberately absent: the model simply produced no image, which
 * maps to the NO_IMAGE code. `OTHER`/`IMAGE_OTHER` are what the image models
 * answer when they refuse without naming a category, so they count as blocks.
 */
const BLOCKING_FINISH_REASONS = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'IMAGE_OTHER',
  'RECITATION',
  'BLOCKLIST',
  'SPII',
  'OTHER',
]);
const RECITATION_REASONS = new Set(['RECITATION', 'IMAGE_RECITATION']);
const TEXT_PREVIEW_LENGTH = 200;

type ImagePart = Part & { inlineData: { data: string; mimeType?: string } };

/** What the call is billed as, apart from the token counts the answer reports. */
export type UsageContext = Omit<ProviderUsage, 'inputTokens' | 'outputTokens' | 'thoughtTokens' | 'outputImages'>;

/** The answer's `usageMetadata` as a ProviderUsage; undefined when the answer has none. */
export function usageOf(response: GenerateContentResponse, ctx: UsageContext): ProviderUsage | undefined {
  const meta = response.usageMetadata;
  if (!meta) return undefined;
  return {
    ...ctx,
    inputTokens: meta.promptTokenCount ?? 0,
    outputTokens: meta.candidatesTokenCount ?? 0,
    thoughtTokens: meta.thoughtsTokenCount ?? 0,
    outputImages: 0,
  };
}

/**
 * Picks the final image of a generateContent answer or throws the matching ProviderError.
 * `lifted` returns the bytes of inline data already decoded while reading the answer.
 * The answer's usage goes with the image, or with the error (a refused answer is billed too).
 */
export function extractImage(
  response: GenerateContentResponse,
  lifted: (data: string) => Buffer | undefined = () => undefined,
  usage?: ProviderUsage,
): GeneratedImage {
  return withUsage(usage, () => {
    assertPromptNotBlocked(response);
    const candidate = response.candidates?.[0];
    const part = lastImagePart(candidate?.content?.parts ?? []);
    if (part) {
      const { data, mimeType } = part.inlineData;
      return { data: lifted(data) ?? Buffer.from(data, 'base64'), mimeType: mimeType ?? 'image/png', ...(usage && { usage: { ...usage, outputImages: 1 } }) };
    }
    throw noImageError(candidate);
  });
}

/** Text of the first candidate, without thought parts (what `response.text` returns, minus its warnings). */
export function extractText(response: GenerateContentResponse, usage?: ProviderUsage): string {
  return withUsage(usage, () => {
    assertPromptNotBlocked(response);
    return textOf(response.candidates?.[0]?.content?.parts ?? []);
  });
}

function withUsage<T>(usage: ProviderUsage | undefined, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (usage && err instanceof ProviderError) throw new ProviderError(err.code, err.message, err.retryable, { ...err.options, usage });
    throw err;
  }
}

function assertPromptNotBlocked(response: GenerateContentResponse): void {
  const reason = response.promptFeedback?.blockReason;
  if (reason) {
    throw new ProviderError('CONTENT_BLOCKED', `The prompt was blocked by the model's safety filters (${reason})`, false);
  }
}

/** Thinking models may send draft images marked `thought: true` before the final one. */
function lastImagePart(parts: Part[]): ImagePart | undefined {
  return parts.filter((p): p is ImagePart => !p.thought && Boolean(p.inlineData?.data)).at(-1);
}

function noImageError(candidate: Candidate | undefined): ProviderError {
  const reason = candidate?.finishReason ? String(candidate.finishReason) : undefined;
  if (reason && BLOCKING_FINISH_REASONS.has(reason)) {
    return new ProviderError('CONTENT_BLOCKED', blockedMessage(reason), false);
  }
  const text = textOf(candidate?.content?.parts ?? []).replace(/\s+/g, ' ').trim();
  const why = reason && reason !== 'STOP' ? ` (${reason})` : '';
  const message = text
    ? `The model answered with text instead of an image${why}: "${preview(text)}"`
    : `The model returned no image${why}`;
  return new ProviderError('NO_IMAGE', message, false);
}

function blockedMessage(reason: string): string {
  if (RECITATION_REASONS.has(reason)) {
    return `The image was blocked because it resembles existing protected content (${reason})`;
  }
  return `The image was blocked by the model's safety filters (${reason})`;
}

function textOf(parts: Part[]): string {
  return parts
    .filter((p) => !p.thought && typeof p.text === 'string')
    .map((p) => p.text)
    .join('');
}

function preview(text: string): string {
  return text.length > TEXT_PREVIEW_LENGTH ? `${text.slice(0, TEXT_PREVIEW_LENGTH - 1)}…` : text;
}
