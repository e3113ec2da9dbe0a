import type { PricingTier, ProviderUsage } from './ports.js';

/**
 * A model's prices at one tier, as Google's pricing page states them: tokens
 * per 1M (USD), output images per image by size (USD). `null`: the sources
 * found gave no number (docs/pricing.md); priced at 0 until PRICING_FILE
 * supplies one.
 */
export interface ModelRates {
  /** USD per 1M input tokens (text and images: promptTokenCount). */
  input: number | null;
  /** USD per 1M text output tokens, thinking included (thoughtsTokenCount is billed as output). */
  textOutput: number | null;
  /** USD per output image, by image size (`512`, `1K`, `2K`, `4K`). */
  imageOutput: Readonly<Record<string, number | null>>;
}

/** A model's rates per tier; `batch` absent means half the standard rates (the Batch API's 50 % discount). */
export interface ModelPrice {
  standard: ModelRates;
  batch?: ModelRates;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Public list prices of the Gemini Developer API, paid tier. Source and date of
 * every number: docs/pricing.md.
 */
export const BUILT_IN_PRICES: PriceTable = Object.freeze({
  'gemini-2.5-flash-image': {
    standard: { input: 0.3, textOutput: null, imageOutput: { '1K': 0.039 } },
    batch: { input: 0.15, textOutput: null, imageOutput: { '1K': 0.0195 } },
  },
  'gemini-3-pro-image-preview': {
    standard: { input: 2, textOutput: 12, imageOutput: { '1K': 0.134, '2K': 0.134, '4K': 0.24 } },
    batch: { input: 1, textOutput: 6, imageOutput: { '1K': 0.067, '2K': 0.067, '4K': 0.12 } },
  },
  'gemini-3.1-flash-image-preview': {
    standard: { input: 0.25, textOutput: 1.5, imageOutput: { '512': 0.045, '1K': 0.067, '2K': 0.101, '4K': 0.151 } },
    batch: { input: null, textOutput: null, imageOutput: { '512': 0.022, '1K': 0.034, '2K': 0.05, '4K': 0.076 } },
  },
  // The default prompt-enhancement model (GEMINI_TEXT_MODEL).
  'gemini-2.5-flash': { standard: { input: 0.3, textOutput: 2.5, imageOutput: {} } },
  // The offline provider costs nothing.
  local: { standard: { input: 0, textOutput: 0, imageOutput: { '512': 0, '1K': 0, '2K': 0, '4K': 0 } } },
});

/** The built-in table with PRICING_FILE's models replacing (or adding) theirs. */
export function priceTable(overrides: Record<string, ModelPrice> = {}): PriceTable {
  return Object.freeze({ ...BUILT_IN_PRICES, ...overrides });
}

const PER_MILLION = 1_000_000;

/**
 * USD cost of one call; 0 for a model the table does not know (the worker warns
 * at start). An image call that returned an image pays the per-image price of
 * its size (its output tokens are that image); one that returned none pays its
 * output tokens as text.
 */
export function costOf(table: PriceTable, usage: ProviderUsage): number {
  const price = table[usage.model];
  if (!price) return 0;
  const rates = ratesFor(price, usage.tier);
  const input = usage.inputTokens * (rates.input ?? 0);
  const thinking = usage.thoughtTokens * (rates.textOutput ?? 0);
  const images = usage.outputImages > 0 ? usage.outputImages * (rates.imageOutput[usage.imageSize ?? '1K'] ?? 0) : 0;
  const text = usage.outputImages > 0 ? 0 : usage.outputTokens * (rates.textOutput ?? 0);
  return (input + thinking + text) / PER_MILLION + images;
}

/** The batch tier's own numbers where the page gives them, else half the standard ones. */
export function ratesFor(price: ModelPrice, tier: PricingTier): ModelRates {
  if (tier === 'standard') return price.standard;
  const half = halved(price.standard);
  const batch = price.batch;
  if (!batch) return half;
  return {
    input: batch.input ?? half.input,
    textOutput: batch.textOutput ?? half.textOutput,
    imageOutput: { ...half.imageOutput, ...withoutNulls(batch.imageOutput) },
  };
}

function halved(r: ModelRates): ModelRates {
  const half = (v: number | null) => (v === null ? null : v / 2);
  return {
    input: half(r.input),
    textOutput: half(r.textOutput),
    imageOutput: Object.fromEntries(Object.entries(r.imageOutput).map(([size, usd]) => [size, half(usd)])),
  };
}

function withoutNulls(prices: Readonly<Record<string, number | null>>): Record<string, number> {
  return Object.fromEntries(Object.entries(prices).filter((e): e is [string, number] => e[1] !== null));
}

export function isPriced(table: PriceTable, model: string): boolean {
  return model in table;
}

/** What `GET /api/v1/models` shows of a model's prices (SPEC §13): both tiers' rates; null when the table has no price for it. */
export function modelPricing(table: PriceTable, model: string): { standard: ModelRates; batch: ModelRates } | null {
  const price = table[model];
  return price ? { standard: ratesFor(price, 'standard'), batch: ratesFor(price, 'batch') } : null;
}
