import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { generationRepository, imageRepository, liveRepository, projectRepository, type Db, type LiveScope, type ProjectSettings, type ProjectWithOrg } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { NotFoundError, ServiceUnavailableError } from './errors.js';
import { submitGeneration } from './generation.service.js';
import { LiveForbiddenError, LiveGenerationFailedError, LiveIpLimitError, LiveNotGeneratedError, LiveTimeoutError } from './live-errors.js';
import { TtlCache, WeightedLru, canonicalLiveParams, hashCanonicalLiveParams, normalizeLivePrompt, type LiveParams } from './live-cache.js';
import { clientAddressKey, originAllowed, requestOrigin } from './live-origins.js';
import { verifyLiveSignature } from './live-signing.js';
import { DEFAULT_MODEL_SETTINGS, chooseModel, type ModelSettings } from './models.js';
import { liveSigningSecrets } from './project-secrets.js';
import { ObjectNotFoundError, type Clock, type ObjectStorage, type PromptTemplate } from './ports.js';
import type { JobQueue, SharedState, StatusSubscriptions } from './queue-port.js';

export interface LiveServiceDeps {
  db: Db;
  /** Single-flight locks and the per-IP counters, shared by every instance. */
  shared: SharedState;
  queue: JobQueue;
  events: StatusSubscriptions;
  storage: ObjectStorage;
  clock: Clock;
  logger?: Logger;
  publicBaseUrl: string;
  missPerIpPerHour: number;
  /** How long a MISS waits for its generation before answering 504. */
  waitTimeoutMs: number;
  hitFlushMs: number;
  hotCacheBytes: number;
  projectCacheTtlMs?: number;
  /** Bounds how long a holder that died before submitting blocks its cache key. */
  lockTtlMs?: number;
  /** The allowed image models and the default (config). */
  models?: ModelSettings;
}

/** The query of a live URL after validation; omitted values take the project's defaults. */
export interface LiveQuery {
  prompt: string;
  aspectRatio?: string;
  autoEnhance?: boolean;
  template?: PromptTemplate;
  model?: string;
  imageSize?: string;
}

export interface LiveRequest {
  orgSlug: string;
  projectSlug: string;
  scope: string;
  query: LiveQuery;
  /** Request path, for the signature. */
  path: string;
  /** The query string as sent (without `?`); parsed only when a signature must be checked. */
  rawQuery: string;
  origin?: string;
  referer?: string;
  ip: string;
  /** HEAD never starts a generation. */
  headOnly?: boolean;
}

export interface LiveImage {
  cache: 'HIT' | 'MISS';
  imageId: string;
  generationId: string | null;
  hitCount: number | null;
  etag: string;
  mimeType: string;
  body: Buffer;
}

interface LiveProject {
  id: string;
  organizationId: string;
  orgSlug: string;
  slug: string;
  settings: ProjectSettings;
  liveSigningSecret: string;
  /** The secret the last rotation replaced, valid until its expiry (SPEC §16). */
  previousLiveSigningSecret: string | null;
  previousLiveSigningSecretExpiresAt: Date | null;
}

interface CachedEntry {
  id: string;
  scopeId: string;
  imageId: string;
  storageKey: string;
  etag: string;
  mimeType: string;
  hitCount: number;
}

interface MissTarget {
  project: LiveProject;
  key: string;
  params: LiveParams;
  deadline: number;
}

const HOUR_MS = 3_600_000;
const MAX_ENTRIES_IN_MEMORY = 50_000;
/** Memoised cache keys, bounded by the length of their canonical parameters (~4 MB). */
const MAX_KEY_MEMO_CHARS = 2_000_000;
const POLL_MISSING_ROW_MS = 250;
const POLL_RUNNING_MS = 2_000;
const MAX_ROUNDS = 3;

/**
 * Live URLs (SPEC §7). A HIT is served from memory (entry and hot bytes) with
 * no SQL and no Redis; hits are counted in memory and flushed periodically.
 * A MISS passes the owner's protections, then single-flights one generation per
 * cache key across instances with a shared lock (Redis) holding the generation id.
 */
export class LiveService {
  /** Emits 'invalidated' after cached entries were dropped (tests wait on it). */
  readonly events = new EventEmitter();
  private readonly entries = new WeightedLru<string, CachedEntry>(MAX_ENTRIES_IN_MEMORY);
  private readonly hot: WeightedLru<string, Buffer>;
  private readonly projects: TtlCache<LiveProject | null>;
  private readonly keys = new WeightedLru<string, { key: string; chars: number }>(MAX_KEY_MEMO_CHARS, (k) => k.chars);
  private pendingHits = new Map<string, { scopeId: string; hits: number; lastHitAt: Date }>();
  /** Bumped on every invalidation, so a lookup that raced one does not cache a dead entry. */
  private epoch = 0;
  private readonly flushTimer: NodeJS.Timeout;

  private readonly models: ModelSettings;

  constructor(private readonly deps: LiveServiceDeps) {
    this.models = deps.models ?? DEFAULT_MODEL_SETTINGS;
    this.hot = new WeightedLru<string, Buffer>(deps.hotCacheBytes, (b) => b.length);
    this.projects = new TtlCache(10_000, () => deps.clock.now().getTime());
    this.flushTimer = setInterval(() => void this.flushHits().catch(() => undefined), deps.hitFlushMs);
    this.flushTimer.unref();
  }

  /**
   * A HIT whose project, entry and bytes are all in memory, found without awaiting
   * anything; null otherwise (then `serve` decides). Counts the hit.
   */
  serveFromMemory(req: Pick<LiveRequest, 'orgSlug' | 'projectSlug' | 'scope' | 'query'>): LiveImage | null {
    const project = this.projects.get(projectCacheKey(req.orgSlug, req.projectSlug));
    return project ? this.memoryHit(project.id, this.cacheKey(project.id, req.scope, resolveParams(project.settings, req.query, this.models))) : null;
  }

  /** Public `GET /cdn/:org/:project/live/:scope`. */
  async serve(req: LiveRequest): Promise<LiveImage> {
    const fromMemory = this.serveFromMemory(req);
    if (fromMemory) return fromMemory;
    const cached = await this.projectBySlugs(req.orgSlug, req.projectSlug);
    const params = resolveParams(cached.settings, req.query, this.models);
    const key = this.cacheKey(cached.id, req.scope, params);
    const hit = await this.lookupHit(cached.id, key);
    if (hit) return hit;
    if (req.headOnly) throw new LiveNotGeneratedError();

    const project = await this.projectBySlugs(req.orgSlug, req.projectSlug, { fresh: true });
    const target = { project, key, params, deadline: this.deadline() };
    return this.singleFlight(target, req.ip, async () => {
      const scope = await liveRepository.findOrCreateScope(this.deps.db, project.id, req.scope, this.deps.clock.now());
      this.checkProtections(project, scope, req);
      return scope;
    });
  }

  /** Keyed seed endpoint `GET /api/v1/live`: the owner's own request, scope `api`, no protections. */
  async serveForOwner(owner: { orgSlug: string; projectSlug: string }, query: LiveQuery, scopeSlug = 'api'): Promise<LiveImage> {
    const project = await this.projectBySlugs(owner.orgSlug, owner.projectSlug);
    const params = resolveParams(project.settings, query, this.models);
    const key = this.cacheKey(project.id, scopeSlug, params);
    const hit = await this.lookupHit(project.id, key);
    if (hit) return hit;
    return this.singleFlight({ project, key, params, deadline: this.deadline() }, null, () =>
      liveRepository.findOrCreateScope(this.deps.db, project.id, scopeSlug, this.deps.clock.now()),
    );
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
    this.projects.clear();
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

  // --- HIT -------------------------------------------------------------------

  /** Entry and bytes both in memory; null when either is not. */
  private memoryHit(projectId: string, key: string): LiveImage | null {
    const entry = this.entries.get(`${projectId}:${key}`);
    const body = entry && this.hot.get(hotKey(entry));
    return entry && body ? this.countHit(entry, body) : null;
  }

  private async lookupHit(projectId: string, key: string): Promise<LiveImage | null> {
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

  private countHit(entry: CachedEntry, body: Buffer): LiveImage {
    entry.hitCount++;
    this.countPending(entry.id, entry.scopeId, 1, this.deps.clock.now());
    return { cache: 'HIT', imageId: entry.imageId, generationId: null, hitCount: entry.hitCount, etag: entry.etag, mimeType: entry.mimeType, body };
  }

  /** Hot bytes from memory, else storage; null when the object is gone (the entry is stale). */
  private async readBytes(entry: Pick<CachedEntry, 'imageId' | 'etag' | 'storageKey'>): Promise<Buffer | null> {
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

  private countPending(entryId: string, scopeId: string, hits: number, at: Date): void {
    const p = this.pendingHits.get(entryId);
    if (p) {
      p.hits += hits;
      if (at > p.lastHitAt) p.lastHitAt = at;
    } else {
      this.pendingHits.set(entryId, { scopeId, hits, lastHitAt: at });
    }
  }

  // --- MISS ------------------------------------------------------------------

  /** Protections 1–4 of SPEC §7, in order; the 5th (per-IP) only for a request that starts a generation. */
  private checkProtections(project: LiveProject, scope: LiveScope, req: LiveRequest): void {
    if (!scope.allow_new_generations) {
      throw new LiveForbiddenError('SCOPE_CLOSED', `Live scope "${scope.slug}" does not allow new generations`);
    }
    if (scope.current_generations >= scope.new_generations_limit) {
      throw new LiveForbiddenError('SCOPE_LIMIT_REACHED', `Live scope "${scope.slug}" has used all ${scope.new_generations_limit} of its new generations`);
    }
    if (scope.allowed_origins.length > 0) {
      const origin = requestOrigin(req.origin, req.referer);
      if (!origin || !originAllowed(scope.allowed_origins, origin)) {
        throw new LiveForbiddenError('ORIGIN_NOT_ALLOWED', 'This origin may not create new images in this live scope');
      }
    }
    if (scope.require_signature) {
      const now = this.deps.clock.now();
      const check = verifyLiveSignature(liveSigningSecrets(project, now), req.path, [...new URLSearchParams(req.rawQuery)], now);
      if (check === 'missing') throw new LiveForbiddenError('SIGNATURE_REQUIRED', 'This live scope requires a signed URL (sig)');
      if (check === 'invalid') throw new LiveForbiddenError('SIGNATURE_INVALID', 'Invalid live URL signature');
      if (check === 'expired') throw new LiveForbiddenError('SIGNATURE_EXPIRED', 'This signed live URL has expired');
    }
  }

  /**
   * One generation per cache key across every API instance: join a finished or
   * running one (entry row or lock) for free, else pass `prepare` (scope and
   * protections 1–4), then the per-IP limit, take the lock and start it.
   */
  private async singleFlight(t: MissTarget, ip: string | null, prepare: () => Promise<LiveScope>): Promise<LiveImage> {
    const lockKey = this.lockKey(t.project.id, t.key);
    let scope: LiveScope | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const entry = await liveRepository.findEntryForDelivery(this.deps.db, t.project.id, t.key);
      if (entry?.image_id) {
        const hit = await this.lookupHit(t.project.id, t.key);
        if (hit) return hit;
        continue;
      }
      if (entry?.generation_id) {
        // A failure that ended before this request arrived is history: try again.
        const joined = await this.waitFor(t, entry.generation_id, { retryIfAlreadyFailed: true });
        if (joined) return joined;
        continue;
      }
      const holder = await this.deps.shared.lockHolder(lockKey);
      if (holder) {
        const joined = await this.waitFor(t, holder, { retryIfAlreadyFailed: false });
        if (joined) return joined;
        continue;
      }
      scope ??= await prepare();
      const generationId = randomUUID();
      if (!(await this.deps.shared.tryLock(lockKey, generationId, this.deps.lockTtlMs ?? 60_000))) continue;
      // Double check under the lock: a holder that just finished released it after filling the entry.
      const settled = await liveRepository.findEntryForDelivery(this.deps.db, t.project.id, t.key);
      if (settled?.image_id || settled?.generation_id) {
        await this.releaseLock(t, generationId);
        continue;
      }
      // Only the request that starts a generation counts against its address (joiners are free).
      if (ip !== null) {
        try {
          await this.takeIpMiss(ip);
        } catch (err) {
          await this.releaseLock(t, generationId);
          throw err;
        }
      }
      await this.startGeneration(t, scope, generationId, ip === null);
      const made = await this.waitFor(t, generationId, { retryIfAlreadyFailed: false });
      if (made) return made;
    }
    throw new ServiceUnavailableError('Live image is being replaced; retry shortly', 2);
  }

  private async startGeneration(t: MissTarget, scope: LiveScope, generationId: string, owner: boolean): Promise<void> {
    const { db, clock } = this.deps;
    if (!(await liveRepository.consumeScopeBudget(db, scope.id, clock.now(), { ignoreLimit: owner }))) {
      await this.releaseLock(t, generationId);
      throw new LiveForbiddenError('SCOPE_LIMIT_REACHED', `Live scope "${scope.slug}" has used all ${scope.new_generations_limit} of its new generations`);
    }
    try {
      await submitGeneration(
        { db, queue: this.deps.queue, clock, publicBaseUrl: this.deps.publicBaseUrl, logger: this.deps.logger, models: this.deps.models },
        { keyId: 'live', projectId: t.project.id, organizationId: t.project.organizationId, orgSlug: t.project.orgSlug, projectSlug: t.project.slug },
        {
          prompt: t.params.prompt,
          aspectRatio: t.params.aspectRatio,
          autoEnhance: t.params.autoEnhance,
          enhancementOptions: { template: t.params.template as PromptTemplate },
          model: t.params.model,
          imageSize: t.params.imageSize,
          flowId: null,
          meta: { liveScope: scope.slug },
        },
        { liveScopeId: scope.id, generationId },
      );
    } catch (err) {
      await liveRepository.refundScopeBudget(db, scope.id).catch(() => undefined);
      await this.releaseLock(t, generationId);
      throw err;
    }
    await liveRepository.upsertPendingEntry(db, {
      projectId: t.project.id,
      scopeId: scope.id,
      cacheKey: t.key,
      params: { scope: scope.slug, ...t.params },
      generationId,
      now: clock.now(),
    });
  }

  /**
   * Waits for the generation on its Redis channel (subscribed before the first
   * read) and polls its row while it is missing, to notice a holder that died
   * before submitting. null: it will never fill the key, start over.
   */
  private async waitFor(t: MissTarget, generationId: string, opts: { retryIfAlreadyFailed: boolean }): Promise<LiveImage | null> {
    let wake: () => void = () => undefined;
    const unsubscribe = await this.deps.events.subscribe(generationId, () => wake());
    try {
      for (let first = true; ; first = false) {
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const row = await generationRepository.findGenerationById(this.deps.db, generationId);
        if (row && ['success', 'failed', 'cancelled'].includes(row.status)) {
          if (row.status === 'success') {
            // Without its image (deleted since) the generation cannot fill the key: start over.
            const delivered = row.output_image_id ? await this.deliverGenerated(t, generationId, row.output_image_id) : null;
            await this.releaseLock(t, generationId);
            if (!delivered) await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
            return delivered;
          }
          await this.dropFailed(t, generationId);
          if (first && opts.retryIfAlreadyFailed) return null;
          throw row.status === 'cancelled'
            ? new LiveGenerationFailedError(generationId, 'CANCELLED', 'the generation was cancelled')
            : new LiveGenerationFailedError(generationId, row.error_code, row.error_message);
        }
        if (!row && (await this.deps.shared.lockHolder(this.lockKey(t.project.id, t.key))) !== generationId) {
          await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
          return null;
        }
        const left = t.deadline - this.deps.clock.now().getTime();
        if (left <= 0) throw new LiveTimeoutError(generationId, 5);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, Math.min(left, row ? POLL_RUNNING_MS : POLL_MISSING_ROW_MS))))]);
        clearTimeout(timer);
      }
    } finally {
      await unsubscribe();
    }
  }

  private async deliverGenerated(t: MissTarget, generationId: string, imageId: string): Promise<LiveImage | null> {
    const epoch = this.epoch;
    const image = await imageRepository.findImage(this.deps.db, t.project.id, imageId);
    const entry = image ? await liveRepository.completeEntry(this.deps.db, t.project.id, t.key, generationId, imageId) : undefined;
    const body = image ? await this.readBytes({ imageId, etag: image.etag, storageKey: image.storage_key }) : null;
    if (!image || !body) {
      await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
      return null;
    }
    if (entry && epoch === this.epoch) {
      this.entries.set(`${t.project.id}:${t.key}`, {
        id: entry.id,
        scopeId: entry.scope_id,
        imageId,
        storageKey: image.storage_key,
        etag: image.etag,
        mimeType: image.mime_type,
        hitCount: entry.hit_count,
      });
    }
    return { cache: 'MISS', imageId, generationId, hitCount: null, etag: image.etag, mimeType: image.mime_type, body };
  }

  /** Failures are not cached: the entry and the lock go, so the next request tries again. */
  private async dropFailed(t: MissTarget, generationId: string): Promise<void> {
    await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
    await this.releaseLock(t, generationId);
  }

  private async releaseLock(t: MissTarget, generationId: string): Promise<void> {
    await this.deps.shared.unlock(this.lockKey(t.project.id, t.key), generationId);
  }

  // --- per-IP limit (protection 5), shared by all instances ---

  private ipWindow(): { key: (ip: string) => string; retryAfter: number } {
    const now = this.deps.clock.now().getTime();
    const window = Math.floor(now / HOUR_MS);
    return {
      key: (ip) => `live:ip-misses:${window}:${clientAddressKey(ip)}`,
      retryAfter: Math.max(1, Math.ceil(((window + 1) * HOUR_MS - now) / 1000)),
    };
  }

  private async takeIpMiss(ip: string): Promise<void> {
    const limit = this.deps.missPerIpPerHour;
    if (limit === 0) return;
    const w = this.ipWindow();
    const count = await this.deps.shared.increment(w.key(ip), HOUR_MS + 60_000);
    if (count > limit) throw new LiveIpLimitError(limit, w.retryAfter);
  }

  // --- helpers ---------------------------------------------------------------

  /** The SHA-256 would cost a HIT more than its lookups: keys are memoised by their canonical parameters (`params` as resolved). */
  private cacheKey(projectId: string, scope: string, params: LiveParams): string {
    const canonical = canonicalLiveParams(projectId, scope, params);
    let memo = this.keys.peek(canonical);
    if (!memo) {
      memo = { key: hashCanonicalLiveParams(canonical), chars: canonical.length };
      this.keys.set(canonical, memo);
    }
    return memo.key;
  }

  private lockKey(projectId: string, key: string): string {
    return `live:lock:${projectId}:${key}`;
  }

  private deadline(): number {
    return this.deps.clock.now().getTime() + this.deps.waitTimeoutMs;
  }

  /** Cached briefly so a HIT needs no SQL; `fresh` for a MISS (settings, rotated secret). */
  private async projectBySlugs(orgSlug: string, projectSlug: string, opts: { fresh?: boolean } = {}): Promise<LiveProject> {
    const cacheKey = projectCacheKey(orgSlug, projectSlug);
    let project = opts.fresh ? undefined : this.projects.get(cacheKey);
    if (project === undefined) {
      const row = await projectRepository.findProjectBySlugs(this.deps.db, orgSlug, projectSlug);
      project = row ? toLiveProject(row) : null;
      const ttl = this.deps.projectCacheTtlMs ?? 30_000;
      this.projects.set(cacheKey, project, project ? ttl : Math.min(ttl, 5_000));
    }
    if (!project) throw new NotFoundError('Project not found');
    return project;
  }
}

function projectCacheKey(orgSlug: string, projectSlug: string): string {
  return `${orgSlug}/${projectSlug}`;
}

/** Hot bytes are keyed by image and ETag, so replaced bytes are never served. */
function hotKey(entry: Pick<CachedEntry, 'imageId' | 'etag'>): string {
  return `${entry.imageId}:${entry.etag}`;
}

function toLiveProject(row: ProjectWithOrg): LiveProject {
  return {
    id: row.id,
    organizationId: row.organizationId,
    orgSlug: row.orgSlug,
    slug: row.slug,
    settings: row.settings ?? {},
    liveSigningSecret: row.liveSigningSecret,
    previousLiveSigningSecret: row.previousLiveSigningSecret,
    previousLiveSigningSecretExpiresAt: row.previousLiveSigningSecretExpiresAt,
  };
}

/**
 * Omitted parameters take the project's defaults, so `?prompt=x` and `?prompt=x&aspectRatio=<default>` share an entry.
 * A model option the model lacks is a 400 naming it (SPEC §13).
 */
function resolveParams(settings: ProjectSettings, q: LiveQuery, models: ModelSettings): LiveParams {
  const aspectRatio = q.aspectRatio ?? settings.defaultAspectRatio ?? '1:1';
  const choice = chooseModel(models, settings, { model: q.model, imageSize: q.imageSize, aspectRatio });
  return {
    prompt: normalizeLivePrompt(q.prompt),
    aspectRatio,
    autoEnhance: q.autoEnhance ?? settings.autoEnhanceDefault ?? true,
    template: q.template ?? 'general',
    model: choice.model,
    imageSize: choice.imageSize,
  };
}
