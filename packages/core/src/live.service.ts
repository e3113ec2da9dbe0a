import type { EventEmitter } from 'node:events';
import { liveRepository, type Db } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import { LiveIpLimiter, checkScopeAccess } from './live-access.js';
import { LiveDeliveryCache } from './live-delivery-cache.js';
import { LiveNotGeneratedError } from './live-errors.js';
import { LiveProjects, resolveLiveParams } from './live-project.js';
import { LiveSingleFlight } from './live-single-flight.js';
import type { Clock, ObjectStorage } from './ports.js';
import type { JobQueue, SharedState, StatusSubscriptions } from './queue-port.js';
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
  private readonly ipLimiter: LiveIpLimiter;
  private readonly flight: LiveSingleFlight;

  constructor(private readonly deps: LiveServiceDeps) {
    this.cache = new LiveDeliveryCache(deps);
    this.projects = new LiveProjects({ db: deps.db, clock: deps.clock, ttlMs: deps.projectCacheTtlMs });
    this.ipLimiter = new LiveIpLimiter(deps);
    this.flight = new LiveSingleFlight({ ...deps, cache: this.cache });
  }

  /** Emits 'invalidated' after cached entries were dropped (tests wait on it). */
  get events(): EventEmitter {
    return this.cache.events;
  }

  /**
   * A HIT whose project, entry and bytes are all in memory, found without awaiting
   * anything; null otherwise (then `serve` decides). Counts the hit.
   */
  serveFromMemory(req: Pick<LiveRequest, 'orgSlug' | 'projectSlug' | 'scope' | 'query'>): LiveImage | null {
    const project = this.projects.peek(req.orgSlug, req.projectSlug);
    return project ? this.cache.memoryHit(project.id, this.cache.cacheKey(project.id, req.scope, resolveLiveParams(project.settings, req.query))) : null;
  }

  /** Public `GET /cdn/:org/:project/live/:scope`. */
  async serve(req: LiveRequest): Promise<LiveImage> {
    const fromMemory = this.serveFromMemory(req);
    if (fromMemory) return fromMemory;
    const cached = await this.projects.bySlugs(req.orgSlug, req.projectSlug);
    const params = resolveLiveParams(cached.settings, req.query);
    const key = this.cache.cacheKey(cached.id, req.scope, params);
    const hit = await this.cache.lookupHit(cached.id, key);
    if (hit) return hit;
    if (req.headOnly) throw new LiveNotGeneratedError();

    const project = await this.projects.bySlugs(req.orgSlug, req.projectSlug, { fresh: true });
    const { db, clock } = this.deps;
    return this.flight.run(
      { project, key, params, deadline: this.deadline() },
      {
        owner: false,
        prepare: async () => {
          const scope = await liveRepository.findOrCreateScope(db, project.id, req.scope, clock.now());
          checkScopeAccess(project, scope, req, clock.now());
          return scope;
        },
        // Only the request that starts a generation counts against its address (joiners are free).
        beforeStart: () => this.ipLimiter.take(req.ip),
      },
    );
  }

  /** Keyed seed endpoint `GET /api/v1/live`: the owner's own request, scope `api`, no protections. */
  async serveForOwner(owner: { orgSlug: string; projectSlug: string }, query: LiveQuery, scopeSlug = 'api'): Promise<LiveImage> {
    const project = await this.projects.bySlugs(owner.orgSlug, owner.projectSlug);
    const params = resolveLiveParams(project.settings, query);
    const key = this.cache.cacheKey(project.id, scopeSlug, params);
    const hit = await this.cache.lookupHit(project.id, key);
    if (hit) return hit;
    return this.flight.run(
      { project, key, params, deadline: this.deadline() },
      { owner: true, prepare: () => liveRepository.findOrCreateScope(this.deps.db, project.id, scopeSlug, this.deps.clock.now()) },
    );
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

  private deadline(): number {
    return this.deps.clock.now().getTime() + this.deps.waitTimeoutMs;
  }
}
