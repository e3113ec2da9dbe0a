import type { EventEmitter } from 'node:events';
import { liveRepository, type Db } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { LiveAccessPolicy, LiveIpLimiter, type LiveReservation } from './live-access.js';
import { LiveDeliveryCache } from './live-delivery-cache.js';
import { LiveNotGeneratedError } from './live-errors.js';
import { LiveProjects, resolveLiveParams } from './live-project.js';
import { LiveSingleFlight } from './live-single-flight.js';
import type { Clock, ObjectStorage } from './ports.js';
import type { JobQueue, SharedState, StatusSubscriptions } from './queue-port.js';
import { DEFAULT_MODEL_SETTINGS, type ModelSettings } from './models.js';
import type { LiveImage, LiveQuery, LiveRequest } from './live-types.js';

export type { LiveImage, LiveQuery, LiveRequest } from './live-types.js';

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
  /** GENERATION_DEADLINE_MS for the generations a MISS starts. */
  generationDeadlineMs?: number;
  /** Live MISSes one process holds open at once; past it, 503 (LIVE_MAX_WAITERS). */
  maxWaiters: number;
  /** The allowed image models and the default (config). */
  models?: ModelSettings;
}

/**
 * Live URLs (SPEC §7, §11). A HIT is served from memory (entry and hot bytes) with
 * no SQL and no Redis (LiveDeliveryCache). A MISS passes the owner's protections
 * (live-access), then single-flights one generation per cache key across
 * instances (LiveSingleFlight), which submits it (live-submit).
 */
export class LiveService {
  private readonly cache: LiveDeliveryCache;
  private readonly projects: LiveProjects;
  private readonly access: LiveAccessPolicy;
  private readonly flight: LiveSingleFlight;

  private readonly models: ModelSettings;

  constructor(private readonly deps: LiveServiceDeps) {
    this.models = deps.models ?? DEFAULT_MODEL_SETTINGS;
    this.cache = new LiveDeliveryCache(deps);
    this.projects = new LiveProjects({ db: deps.db, clock: deps.clock, ttlMs: deps.projectCacheTtlMs });
    this.access = new LiveAccessPolicy({ db: deps.db, clock: deps.clock, ipLimiter: new LiveIpLimiter(deps) });
    this.flight = new LiveSingleFlight({ ...deps, cache: this.cache, onWaitersChanged: (n) => this.cache.events.emit('waiting', n) });
  }

  /** Emits 'invalidated' after cached entries were dropped, and 'waiting' with the number of open MISSes when it changes (tests wait on them). */
  get events(): EventEmitter {
    return this.cache.events;
  }

  /** Live MISSes this process holds open now (at most LIVE_MAX_WAITERS). */
  get waiting(): number {
    return this.flight.waiting;
  }

  /**
   * A HIT whose project, entry and bytes are all in memory, found without awaiting
   * anything; null otherwise (then `serve` decides). Counts the hit.
   */
  serveFromMemory(req: Pick<LiveRequest, 'orgSlug' | 'projectSlug' | 'scope' | 'query'>): LiveImage | null {
    const project = this.projects.peek(req.orgSlug, req.projectSlug);
    return project ? this.cache.memoryHit(project.id, this.cache.cacheKey(project.id, req.scope, resolveLiveParams(project.settings, req.query, this.models))) : null;
  }

  /** Public `GET /cdn/:org/:project/live/:scope`. */
  async serve(req: LiveRequest): Promise<LiveImage> {
    const fromMemory = this.serveFromMemory(req);
    if (fromMemory) return fromMemory;
    const cached = await this.projects.bySlugs(req.orgSlug, req.projectSlug);
    const params = resolveLiveParams(cached.settings, req.query, this.models);
    const key = this.cache.cacheKey(cached.id, req.scope, params);
    const hit = await this.cache.lookupHit(cached.id, key);
    if (hit) return hit;
    if (req.headOnly) throw new LiveNotGeneratedError();

    const project = await this.projects.bySlugs(req.orgSlug, req.projectSlug, { fresh: true });
    this.access.assertEnabled(project);
    // Joiners of a running or finished generation are free; only the request that starts one is checked and charged.
    return this.flight.run(
      { project, key, params, deadline: this.deadline() },
      { prepare: () => this.access.check(project, req), reserve: () => this.access.reserve(project, req) },
    );
  }

  /** Keyed seed endpoint `GET /api/v1/live`: the owner's own request, scope `api`, no protections. */
  async serveForOwner(
    owner: { orgSlug: string; projectSlug: string },
    query: LiveQuery,
    opts: { scopeSlug?: string; /** Runs before a miss starts work; throws to refuse it (the caller's rate limit). */ beforeMiss?: () => Promise<void> } = {},
  ): Promise<LiveImage> {
    const scopeSlug = opts.scopeSlug ?? 'api';
    const project = await this.projects.bySlugs(owner.orgSlug, owner.projectSlug);
    const params = resolveLiveParams(project.settings, query, this.models);
    const key = this.cache.cacheKey(project.id, scopeSlug, params);
    const hit = await this.cache.lookupHit(project.id, key);
    if (hit) return hit;
    await opts.beforeMiss?.();
    return this.flight.run({ project, key, params, deadline: this.deadline() }, { prepare: async () => undefined, reserve: () => this.ownerReservation(project.id, scopeSlug) });
  }

  /** Drops cached state named by a `banatie_live` notification (`entry:<projectId>:<key>` or `image:<id>`). */
  invalidate(payload: string): void {
    this.cache.invalidate(payload);
  }

  /** After a lost connection to the notification channel: anything may have changed. */
  reset(): void {
    this.projects.clear();
    this.cache.reset();
  }

  /** Writes the hits counted in memory since the last flush (two statements). */
  flushHits(): Promise<void> {
    return this.cache.flushHits();
  }

  close(): Promise<void> {
    return this.cache.close();
  }

  /** The owner's keyed request: the scope is created as needed and counts the generation, past its limit too. */
  private async ownerReservation(projectId: string, scopeSlug: string): Promise<LiveReservation> {
    const { db, clock } = this.deps;
    const scope = await liveRepository.findOrCreateScope(db, projectId, scopeSlug, clock.now());
    await liveRepository.consumeScopeBudget(db, scope.id, clock.now(), { ignoreLimit: true });
    return { scope, refund: () => liveRepository.refundScopeBudget(db, scope.id) };
  }

  private deadline(): number {
    return this.deps.clock.now().getTime() + this.deps.waitTimeoutMs;
  }
}
