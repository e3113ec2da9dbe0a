import type { PricingTier, ProviderUsage } from './ports.js';

/**
 * USD per 1M tokens of one model at the standard tier. `null`: the public
 * pricing page gave no number for it (see docs/pricing.md); those tokens are
 * priced at 0 until PRICING_FILE supplies one.
 */
export interface ModelRates {
  /** Input: text and images (promptTokenCount). */
  input: number | null;
  /** Text output and thinking (candidates of a text call, thoughtsTokenCount). */
  textOutput: number | null;
  /** Image output (candidates of an image call). */
  imageOutput: number | null;
}

/** A model's rates per tier; `batch` absent means half the standard rates (the Batch API's 50 % discount). */
export interface ModelPrice {
  standard: ModelRates;
  batch?: ModelRates;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * Public list prices of the Gemini Developer API, paid tier. Source and date of
 * every number: docs/pricing.md. Google bills image output per token; the
 * per-image prices it quotes are these rates times its tokens per image size.
 */
export const BUILT_IN_PRICES: PriceTable = Object.freeze({
  'gemini-2.5-flash-image': { standard: { input: 0.3, textOutput: null, imageOutput: 30 } },
  'gemini-3-pro-image-preview': { standard: { input: 2, textOutput: 12, imageOutput: 120 } },
  'gemini-3.1-flash-image-preview': { standard: { input: 0.25, textOutput: 1.5, imageOutput: 60 } },
  // The default prompt-enhancement model (GEMINI_TEXT_MODEL).
  'gemini-2.5-flash': { standard: { input: 0.3, textOutput: 2.5, imageOutput: null } },
  // The offline provider costs nothing.
  local: { standard: { input: 0, textOutput: 0, imageOutput: 0 } },
});

/** The built-in table with PRICING_FILE's models replacing (or adding) theirs. */
export function priceTable(overrides: Record<string, ModelPrice> = {}): PriceTable {
  return Object.freeze({ ...BUILT_IN_PRICES, ...overrides });
}

const PER_MILLION = 1_000_000;

/** USD cost of one call; 0 for a model the table does not know (logged by the caller). */
export function costOf(table: PriceTable, usage: ProviderUsage): number {
  const price = table[usage.model];
  if (!price) return 0;
  const rates = ratesFor(price, usage.tier);
  const output = usage.operation === 'generate_image' ? rates.imageOutput : rates.textOutput;
  const micro = usage.inputTokens * (rates.input ?? 0) + usage.outputTokens * (output ?? 0) + usage.thoughtTokens * (rates.textOutput ?? 0);
  return micro / PER_MILLION;
}

export function ratesFor(price: ModelPrice, tier: PricingTier): ModelRates {
  if (tier === 'standard') return price.standard;
  return price.batch ?? halved(price.standard);
}

function halved(r: ModelRates): ModelRates {
  const half = (v: number | null) => (v === null ? null : v / 2);
  return { input: half(r.input), textOutput: half(r.textOutput), imageOutput: half(r.imageOutput) };
}

export function isPriced(table: PriceTable, model: string): boolean {
  return model in table;
}
