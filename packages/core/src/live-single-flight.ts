import { randomUUID } from 'node:crypto';
import { imageRepository, liveRepository, type Db } from '@banatie/db';
import type { LiveReservation } from './live-access.js';
import { ServiceUnavailableError } from './errors.js';
import { checkQuota, QuotaExceededError } from './limits.service.js';
import type { LiveDeliveryCache } from './live-delivery-cache.js';
import { LiveGenerationFailedError, LiveTimeoutError } from './live-errors.js';
import { recordPendingEntry, submitLiveGeneration, type LiveSubmitDeps } from './live-submit.js';
import { GenerationWatches, LiveWaiterSlots } from './live-waiters.js';
import type { SharedState, StatusSubscriptions } from './queue-port.js';
import type { LiveImage, MissTarget } from './live-types.js';

export interface LiveSingleFlightDeps extends LiveSubmitDeps {
  db: Db;
  shared: SharedState;
  events: StatusSubscriptions;
  cache: LiveDeliveryCache;
  /** Bounds how long a holder that died before submitting blocks its cache key. */
  lockTtlMs?: number;
  /** Live MISSes this process holds open at once (LIVE_MAX_WAITERS). */
  maxWaiters: number;
  /** Called with the number of waiting MISSes whenever it changes. */
  onWaitersChanged?: (waiting: number) => void;
}

/** What a MISS that may start a generation must pass once nobody else is filling its key. */
export interface MissGate {
  /** Every check that needs no lock, reading only: a refusal here leaves no trace. */
  prepare(): Promise<void>;
  /** Under the lock, right before the generation starts: the checks again, and the budgets spent; a throw releases the lock. */
  reserve(): Promise<LiveReservation>;
}

const MAX_ROUNDS = 3;

/**
 * One generation per cache key across every API instance: a shared lock (Redis)
 * holds the generation id; everyone else joins the finished or running one.
 */
export class LiveSingleFlight {
  private readonly watches: GenerationWatches;
  private readonly slots: LiveWaiterSlots;
  private readonly deliveries = new Map<string, Promise<LiveImage | null>>();

  constructor(private readonly deps: LiveSingleFlightDeps) {
    this.watches = new GenerationWatches(deps);
    this.slots = new LiveWaiterSlots(deps.maxWaiters, deps.onWaitersChanged);
  }

  /** Live MISSes this process holds open now. */
  get waiting(): number {
    return this.slots.waiting;
  }

  /**
   * Joins a finished or running generation (entry row or lock) for free, else
   * passes the gate, takes the lock and starts one.
   */
  async run(t: MissTarget, gate: MissGate): Promise<LiveImage> {
    this.slots.take();
    try {
      return await this.runHoldingSlot(t, gate);
    } finally {
      this.slots.give();
    }
  }

  private async runHoldingSlot(t: MissTarget, gate: MissGate): Promise<LiveImage> {
    const { db, cache, shared } = this.deps;
    const lockKey = liveLockKey(t.project.id, t.key);
    let prepared = false;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const entry = await liveRepository.findEntryForDelivery(db, t.project.id, t.key);
      if (entry?.image_id) {
        const hit = await cache.lookupHit(t.project.id, t.key);
        if (hit) return hit;
        continue;
      }
      if (entry?.generation_id) {
        // A failure that ended before this request arrived is history: try again.
        const joined = await this.waitFor(t, entry.generation_id, { retryIfAlreadyFailed: true });
        if (joined) return joined;
        continue;
      }
      const holder = await shared.lockHolder(lockKey);
      if (holder) {
        const joined = await this.waitFor(t, holder, { retryIfAlreadyFailed: false });
        if (joined) return joined;
        continue;
      }
      if (!prepared) {
        await gate.prepare();
        // The project's limits (SPEC §12) before anything is created: a refused MISS leaves nothing behind.
        await checkQuota(this.deps, t.project.id, true);
      }
      prepared = true;
      const generationId = randomUUID();
      if (!(await shared.tryLock(lockKey, generationId, this.deps.lockTtlMs ?? 60_000))) continue;
      // Double check under the lock: a holder that just finished released it after filling the entry.
      const settled = await liveRepository.findEntryForDelivery(db, t.project.id, t.key);
      if (settled?.image_id || settled?.generation_id) {
        await this.release(t, generationId);
        continue;
      }
      await this.start(t, generationId, gate);
      const made = await this.waitFor(t, generationId, { retryIfAlreadyFailed: false });
      if (made) return made;
    }
    throw new ServiceUnavailableError('Live image is being replaced; retry shortly', 2);
  }

  /** Under the lock: the reservation, the submit, the pending entry. A refusal or failure releases the lock and refunds. */
  private async start(t: MissTarget, generationId: string, gate: MissGate): Promise<void> {
    let reservation: LiveReservation | undefined;
    try {
      reservation = await gate.reserve();
      await submitLiveGeneration(this.deps, t, reservation.scope, generationId);
    } catch (err) {
      await reservation?.refund().catch(() => undefined);
      await this.release(t, generationId);
      // A limit reached between the pre-check and the submit is still a live refusal (403).
      if (err instanceof QuotaExceededError) throw new QuotaExceededError(err.verdict, this.deps.clock.now(), true);
      throw err;
    }
    await recordPendingEntry(this.deps, t, reservation.scope, generationId);
  }

  /**
   * Waits for the generation through this process's watch of it (woken by its
   * status events). null: it will never fill the key, start over.
   */
  private async waitFor(t: MissTarget, generationId: string, opts: { retryIfAlreadyFailed: boolean }): Promise<LiveImage | null> {
    const joined = await this.watches.join(generationId, liveLockKey(t.project.id, t.key));
    try {
      const outcome = await untilDeadline(joined.outcome, t.deadline - this.deps.clock.now().getTime());
      if (outcome === 'timeout') throw new LiveTimeoutError(generationId, 5);
      if (outcome.kind === 'error') throw outcome.error;
      if (outcome.kind === 'abandoned') {
        await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
        return null;
      }
      const row = outcome.row;
      if (row.status === 'success') return await this.deliverOnce(t, generationId, row.output_image_id);
      await this.dropFailed(t, generationId);
      // A failure that ended before this request arrived is history: try again.
      if ((outcome.early || joined.settledAtJoin) && opts.retryIfAlreadyFailed) return null;
      throw row.status === 'cancelled'
        ? new LiveGenerationFailedError(generationId, 'CANCELLED', 'the generation was cancelled')
        : new LiveGenerationFailedError(generationId, row.error_code, row.error_message);
    } finally {
      await joined.leave();
    }
  }

  /** Fills the key from the generation's image once for all of this process's waiters; null when the image is gone (start over). */
  private deliverOnce(t: MissTarget, generationId: string, imageId: string | null): Promise<LiveImage | null> {
    let delivery = this.deliveries.get(generationId);
    if (!delivery) {
      delivery = (async () => {
        // Without its image (deleted since) the generation cannot fill the key: start over.
        const delivered = imageId ? await this.deliverGenerated(t, generationId, imageId) : null;
        await this.release(t, generationId);
        if (!delivered) await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
        return delivered;
      })().finally(() => this.deliveries.delete(generationId));
      this.deliveries.set(generationId, delivery);
    }
    return delivery;
  }

  private async deliverGenerated(t: MissTarget, generationId: string, imageId: string): Promise<LiveImage | null> {
    const { db, cache } = this.deps;
    const epoch = cache.currentEpoch();
    const image = await imageRepository.findImage(db, t.project.id, imageId);
    const entry = image ? await liveRepository.completeEntry(db, t.project.id, t.key, generationId, imageId) : undefined;
    const body = image ? await cache.readBytes({ imageId, etag: image.etag, storageKey: image.storage_key }) : null;
    if (!image || !body) {
      await liveRepository.deleteEntry(db, t.project.id, t.key, generationId);
      return null;
    }
    if (entry) {
      cache.remember(
        t.project.id,
        t.key,
        { id: entry.id, scopeId: entry.scope_id, imageId, storageKey: image.storage_key, etag: image.etag, mimeType: image.mime_type, hitCount: entry.hit_count },
        epoch,
      );
    }
    return { cache: 'MISS', imageId, generationId, hitCount: null, etag: image.etag, mimeType: image.mime_type, body };
  }

  /** Failures are not cached: the entry and the lock go, so the next request tries again. */
  private async dropFailed(t: MissTarget, generationId: string): Promise<void> {
    await liveRepository.deleteEntry(this.deps.db, t.project.id, t.key, generationId);
    await this.release(t, generationId);
  }

  private async release(t: MissTarget, generationId: string): Promise<void> {
    await this.deps.shared.unlock(liveLockKey(t.project.id, t.key), generationId);
  }
}

/** The outcome, or 'timeout' once `ms` have passed. */
async function untilDeadline<T>(outcome: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([outcome, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

function liveLockKey(projectId: string, key: string): string {
  return `live:lock:${projectId}:${key}`;
}
