import { EventEmitter } from 'node:events';
import { liveRepository, type Db } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { WeightedLru, canonicalLiveParams, hashCanonicalLiveParams, type LiveParams } from './live-cache.js';
import { ObjectNotFoundError, type Clock, type ObjectStorage } from './ports.js';
import type { LiveImage } from './live-types.js';

/** A filled cache key as a HIT needs it. */
export interface CachedEntry {
  id: string;
  scopeId: string;
  imageId: string;
  storageKey: string;
  etag: string;
  mimeType: string;
  hitCount: number;
}

export interface LiveDeliveryCacheDeps {
  db: Db;
  storage: ObjectStorage;
  clock: Clock;
  logger?: Logger;
  hitFlushMs: number;
  hotCacheBytes: number;
}

const MAX_ENTRIES_IN_MEMORY = 50_000;
/** Memoised cache keys, bounded by the length of their canonical parameters (~4 MB). */
const MAX_KEY_MEMO_CHARS = 2_000_000;

/**
 * The HIT side of live URLs: filled entries and hot bytes in memory (no SQL, no
 * Redis for a HIT whose both are there), hit counts kept in memory and flushed
 * periodically, and invalidation by the `banatie_live` notifications.
 */
export class LiveDeliveryCache {
  /** Emits 'invalidated' after cached entries were dropped (tests wait on it). */
  readonly events = new EventEmitter();
  private readonly entries = new WeightedLru<string, CachedEntry>(MAX_ENTRIES_IN_MEMORY);
  private readonly hot: WeightedLru<string, Buffer>;
  private readonly keys = new WeightedLru<string, { key: string; chars: number }>(MAX_KEY_MEMO_CHARS, (k) => k.chars);
  private pendingHits = new Map<string, { scopeId: string; hits: number; lastHitAt: Date }>();
  /** Bumped on every invalidation, so a lookup that raced one does not cache a dead entry. */
  private epoch = 0;
  private readonly flushTimer: NodeJS.Timeout;

  constructor(private readonly deps: LiveDeliveryCacheDeps) {
    this.hot = new WeightedLru<string, Buffer>(deps.hotCacheBytes, (b) => b.length);
    this.flushTimer = setInterval(() => void this.flushHits().catch(() => undefined), deps.hitFlushMs);
    this.flushTimer.unref();
  }

  /** The SHA-256 would cost a HIT more than its lookups: keys are memoised by their canonical parameters (`params` as resolved). */
  cacheKey(projectId: string, scope: string, params: LiveParams): string {
    const canonical = canonicalLiveParams(projectId, scope, params);
    let memo = this.keys.peek(canonical);
    if (!memo) {
      memo = { key: hashCanonicalLiveParams(canonical), chars: canonical.length };
      this.keys.set(canonical, memo);
    }
    return memo.key;
  }

  /** Entry and bytes both in memory; null when either is not. Counts the hit. */
  memoryHit(projectId: string, key: string): LiveImage | null {
    const entry = this.entries.get(`${projectId}:${key}`);
    const body = entry && this.hot.get(hotKey(entry));
    return entry && body ? this.countHit(entry, body) : null;
  }

  /** A HIT from memory, else the entry row and storage; null when the key is not filled (or its bytes are gone). */
  async lookupHit(projectId: string, key: string): Promise<LiveImage | null> {
    const memoryKey = `${projectId}:${key}`;
    let entry = this.entries.get(memoryKey);
    if (!entry) {
      const epoch = this.epoch;
      const row = await liveRepository.findEntryForDelivery(this.deps.db, projectId, key);
      if (!row?.image_id || !row.storage_key || !row.etag || !row.mime_type) return null;
      entry = { id: row.id, scopeId: row.scope_id, imageId: row.image_id, storageKey: row.storage_key, etag: row.etag, mimeType: row.mime_type, hitCount: row.hit_count };
      if (epoch === this.epoch) this.entries.set(memoryKey, entry);
    }
    const body = await this.readBytes(entry);
    if (!body) {
      this.entries.delete(memoryKey);
      await liveRepository.deleteEntry(this.deps.db, projectId, key);
      return null;
    }
    return this.countHit(entry, body);
  }

  /** Hot bytes from memory, else storage; null when the object is gone (the entry is stale). */
  async readBytes(entry: Pick<CachedEntry, 'imageId' | 'etag' | 'storageKey'>): Promise<Buffer | null> {
    const cached = this.hot.get(hotKey(entry));
    if (cached) return cached;
    try {
      const body = await this.deps.storage.get(entry.storageKey);
      this.hot.set(hotKey(entry), body);
      return body;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  /** The invalidation counter now; `remember` with it keeps nothing that an invalidation since then may have killed. */
  currentEpoch(): number {
    return this.epoch;
  }

  remember(projectId: string, key: string, entry: CachedEntry, epoch: number): void {
    if (epoch === this.epoch) this.entries.set(`${projectId}:${key}`, entry);
  }

  /** Drops cached state named by a `banatie_live` notification (`entry:<projectId>:<key>` or `image:<id>`). */
  invalidate(payload: string): void {
    this.epoch++;
    const [kind, ...rest] = payload.split(':');
    if (kind === 'entry') {
      this.entries.delete(rest.join(':'));
    } else if (kind === 'image') {
      const imageId = rest[0];
      this.entries.deleteWhere((e) => e.imageId === imageId);
      this.hot.deleteWhere((_b, k) => k.startsWith(`${imageId}:`));
    }
    this.events.emit('invalidated', payload);
  }

  /** After a lost connection to the notification channel: anything may have changed. */
  reset(): void {
    this.epoch++;
    this.entries.clear();
    this.hot.clear();
    this.events.emit('invalidated', '*');
  }

  /** Writes the hits counted in memory since the last flush (two statements). */
  async flushHits(): Promise<void> {
    if (this.pendingHits.size === 0) return;
    const batch = this.pendingHits;
    this.pendingHits = new Map();
    const scopes = new Map<string, number>();
    for (const h of batch.values()) scopes.set(h.scopeId, (scopes.get(h.scopeId) ?? 0) + h.hits);
    try {
      await liveRepository.addHits(
        this.deps.db,
        [...batch].map(([entryId, h]) => ({ entryId, hits: h.hits, lastHitAt: h.lastHitAt })),
        [...scopes].map(([scopeId, hits]) => ({ scopeId, hits })),
      );
    } catch (err) {
      for (const [id, h] of batch) this.countPending(id, h.scopeId, h.hits, h.lastHitAt);
      this.deps.logger?.warn({ err }, 'live hit count flush failed; kept for the next flush');
      throw err;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushHits().catch(() => undefined);
  }

  private countHit(entry: CachedEntry, body: Buffer): LiveImage {
    entry.hitCount++;
    this.countPending(entry.id, entry.scopeId, 1, this.deps.clock.now());
    return { cache: 'HIT', imageId: entry.imageId, generationId: null, hitCount: entry.hitCount, etag: entry.etag, mimeType: entry.mimeType, body };
  }

  private countPending(entryId: string, scopeId: string, hits: number, at: Date): void {
    const p = this.pendingHits.get(entryId);
    if (p) {
      p.hits += hits;
      if (at > p.lastHitAt) p.lastHitAt = at;
    } else {
      this.pendingHits.set(entryId, { scopeId, hits, lastHitAt: at });
    }
  }
}

/** Hot bytes are keyed by image and ETag, so replaced bytes are never served. */
function hotKey(entry: Pick<CachedEntry, 'imageId' | 'etag'>): string {
  return `${entry.imageId}:${entry.etag}`;
}
