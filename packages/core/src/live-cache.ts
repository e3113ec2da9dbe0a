import { createHash } from 'node:crypto';

/** The parameters that decide what a live URL draws; everything else is not part of the key. */
export interface LiveParams {
  prompt: string;
  aspectRatio: string;
  autoEnhance: boolean;
  template: string;
  model: string;
  imageSize: string;
}

/** Entries made before models were chosen per URL were drawn with these: their keys leave them out, so they still HIT. */
const LEGACY_MODEL = 'gemini-2.5-flash-image';
const LEGACY_SIZE = '1K';

/** Collapses runs of whitespace and trims, so cosmetic differences in a prompt share one entry. */
export function normalizeLivePrompt(prompt: string): string {
  return prompt.replace(/\s+/g, ' ').trim();
}

/**
 * The canonical parameters (SPEC §7, §13): project, scope, prompt, aspectRatio, autoEnhance, template, then
 * model and imageSize unless they are gemini-2.5-flash-image at 1K; the prompt already normalised.
 */
export function canonicalLiveParams(projectId: string, scope: string, params: LiveParams): string {
  const base = [projectId, scope, params.prompt, params.aspectRatio, params.autoEnhance, params.template];
  const legacy = params.model === LEGACY_MODEL && params.imageSize === LEGACY_SIZE;
  return JSON.stringify(legacy ? base : [...base, params.model, params.imageSize]);
}

/** SHA-256 over the canonical parameters. */
export function liveCacheKey(projectId: string, scope: string, params: LiveParams): string {
  return hashCanonicalLiveParams(canonicalLiveParams(projectId, scope, { ...params, prompt: normalizeLivePrompt(params.prompt) }));
}

export function hashCanonicalLiveParams(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex');
}

/** Least-recently-used map bounded by total weight (bytes for image bodies, 1 per item otherwise). */
export class WeightedLru<K, V> {
  private readonly items = new Map<K, { value: V; weight: number }>();
  private total = 0;

  constructor(
    private readonly maxWeight: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {}

  get size(): number {
    return this.items.size;
  }

  get weight(): number {
    return this.total;
  }

  get(key: K): V | undefined {
    const item = this.items.get(key);
    if (!item) return undefined;
    this.items.delete(key);
    this.items.set(key, item);
    return item.value;
  }

  /** Reads without making the item the most recent (a memo that may evict in insertion order). */
  peek(key: K): V | undefined {
    return this.items.get(key)?.value;
  }

  set(key: K, value: V): void {
    const weight = this.weigh(value);
    this.delete(key);
    // One value larger than the whole budget is not kept (it would evict everything).
    if (weight > this.maxWeight) return;
    this.items.set(key, { value, weight });
    this.total += weight;
    for (const [k, item] of this.items) {
      if (this.total <= this.maxWeight) break;
      this.items.delete(k);
      this.total -= item.weight;
    }
  }

  delete(key: K): void {
    const item = this.items.get(key);
    if (!item) return;
    this.items.delete(key);
    this.total -= item.weight;
  }

  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [k, item] of this.items) if (match(item.value, k)) this.delete(k);
  }

  clear(): void {
    this.items.clear();
    this.total = 0;
  }
}

/** Small in-process cache whose values expire after a fixed time. */
export class TtlCache<V> {
  private readonly items = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxItems: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const item = this.items.get(key);
    if (!item) return undefined;
    if (item.expiresAt <= this.now()) {
      this.items.delete(key);
      return undefined;
    }
    return item.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.items.delete(key);
    if (this.items.size >= this.maxItems) {
      const oldest = this.items.keys().next().value;
      if (oldest !== undefined) this.items.delete(oldest);
    }
    this.items.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  clear(): void {
    this.items.clear();
  }
}
