import { describe, expect, it } from 'vitest';
import { BUILT_IN_PRICES, costOf, priceTable, ratesFor, type ProviderUsage } from '../src/index.js';

const call = (over: Partial<ProviderUsage>): ProviderUsage => ({
  operation: 'generate_image',
  model: 'gemini-2.5-flash-image',
  inputTokens: 0,
  outputTokens: 1290,
  thoughtTokens: 0,
  outputImages: 1,
  imageSize: '1K',
  tier: 'standard',
  ...over,
});

describe('prices', () => {
  it('prices an output image per image by size, and input tokens per million', () => {
    expect(costOf(BUILT_IN_PRICES, call({}))).toBeCloseTo(0.039, 10);
    expect(costOf(BUILT_IN_PRICES, call({ inputTokens: 1_000_000 }))).toBeCloseTo(0.039 + 0.3, 10);
    const pro = call({ model: 'gemini-3-pro-image-preview', imageSize: '4K', thoughtTokens: 1000 });
    expect(costOf(BUILT_IN_PRICES, pro)).toBeCloseTo(0.24 + (1000 * 12) / 1e6, 10);
    expect(costOf(BUILT_IN_PRICES, call({ model: 'gemini-3.1-flash-image-preview', imageSize: '512' }))).toBeCloseTo(0.045, 10);
  });

  it('uses the batch tier’s listed prices, else half the standard ones', () => {
    expect(costOf(BUILT_IN_PRICES, call({ tier: 'batch' }))).toBeCloseTo(0.0195, 10);
    expect(costOf(BUILT_IN_PRICES, call({ model: 'gemini-3.1-flash-image-preview', imageSize: '2K', tier: 'batch' }))).toBeCloseTo(0.05, 10);
    // 3.1 Flash Image's batch token rates were not found: half the standard ones.
    expect(ratesFor(BUILT_IN_PRICES['gemini-3.1-flash-image-preview']!, 'batch').input).toBeCloseTo(0.125, 10);
    expect(costOf(BUILT_IN_PRICES, { ...call({}), operation: 'enhance_prompt', model: 'gemini-2.5-flash', outputImages: 0, imageSize: null, tier: 'batch', outputTokens: 2_000_000 })).toBeCloseTo(2.5, 10);
  });

  it('bills a call that returned no image for its tokens only', () => {
    const refused = call({ model: 'gemini-3-pro-image-preview', outputImages: 0, outputTokens: 100, inputTokens: 500 });
    expect(costOf(BUILT_IN_PRICES, refused)).toBeCloseTo((500 * 2 + 100 * 12) / 1e6, 12);
  });

  it('an unknown model or an unlisted size costs 0; PRICING_FILE entries replace or add models', () => {
    expect(costOf(BUILT_IN_PRICES, call({ model: 'gemini-9-image' }))).toBe(0);
    expect(costOf(BUILT_IN_PRICES, call({ imageSize: '4K' }))).toBe(0);
    const table = priceTable({ 'gemini-9-image': { standard: { input: 1, textOutput: 1, imageOutput: { '1K': 0.5 } } } });
    expect(costOf(table, call({ model: 'gemini-9-image' }))).toBe(0.5);
    expect(costOf(table, call({}))).toBeCloseTo(0.039, 10);
    expect(costOf(BUILT_IN_PRICES, call({ model: 'local' }))).toBe(0);
  });
});
