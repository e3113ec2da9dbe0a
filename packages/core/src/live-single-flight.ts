import { randomUUID } from 'node:crypto';
import { generationRepository, imageRepository, liveRepository, type Db } from '@banatie/db';
import type { LiveReservation } from './live-access.js';
import { ServiceUnavailableError } from './errors.js';
import { checkQuota, QuotaExceededError } from './limits.service.js';
import type { LiveDeliveryCache } from './live-delivery-cache.js';
import { LiveGenerationFailedError, LiveTimeoutError } from './live-errors.js';
import { recordPendingEntry, submitLiveGeneration, type LiveSubmitDeps } from './live-submit.js';
import type { SharedState, StatusSubscriptions } from './queue-port.js';
import type { LiveImage, MissTarget } from './live-types.js';

export interface LiveSingleFlightDeps extends LiveSubmitDeps {
  db: Db;
  shared: SharedState;
  events: StatusSubscriptions;
  cache: LiveDeliveryCache;
  /** Bounds how long a holder that died before submitting blocks its cache key. */
  lockTtlMs?: number;
}

/** What a MISS that may start a generation must pass once nobody else is filling its key. */
export interface MissGate {
  /** Every check that needs no lock, reading only: a refusal here leaves no trace. */
  prepare(): Promise<void>;
  /** Under the lock, right before the generation starts: the checks again, and the budgets spent; a throw releases the lock. */
  reserve(): Promise<LiveReservation>;
}

const POLL_MISSING_ROW_MS = 250;
const POLL_RUNNING_MS = 2_000;
const MAX_ROUNDS = 3;

/**
 * One generation per cache key across every API instance: a shared lock (Redis)
 * holds the generation id; everyone else joins the finished or running one.
 */
export class LiveSingleFlight {
  constructor(private readonly deps: LiveSingleFlightDeps) {}

  /**
   * Joins a finished or running generation (entry row or lock) for free, else
   * passes the gate, takes the lock and starts one.
   */
  async run(t: MissTarget, gate: MissGate): Promise<LiveImage> {
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
   * Waits for the generation on its Redis channel (subscribed before the first
   * read) and polls its row while it is missing, to notice a holder that died
   * before submitting. null: it will never fill the key, start over.
   */
  private async waitFor(t: MissTarget, generationId: string, opts: { retryIfAlreadyFailed: boolean }): Promise<LiveImage | null> {
    const { db, shared, clock } = this.deps;
    let wake: () => void = () => undefined;
    const unsubscribe = await this.deps.events.subscribe(generationId, () => wake());
    try {
      for (let first = true; ; first = false) {
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const row = await generationRepository.findGenerationById(db, generationId);
        if (row && ['success', 'failed', 'cancelled'].includes(row.status)) {
          if (row.status === 'success') {
            // Without its image (deleted since) the generation cannot fill the key: start over.
            const delivered = row.output_image_id ? await this.deliverGenerated(t, generationId, row.output_image_id) : null;
            await this.release(t, generationId);
            if (!delivered) await liveRepository.deleteEntry(db, t.project.id, t.key, generationId);
            return delivered;
          }
          await this.dropFailed(t, generationId);
          if (first && opts.retryIfAlreadyFailed) return null;
          throw row.status === 'cancelled'
            ? new LiveGenerationFailedError(generationId, 'CANCELLED', 'the generation was cancelled')
            : new LiveGenerationFailedError(generationId, row.error_code, row.error_message);
        }
        if (!row && (await shared.lockHolder(liveLockKey(t.project.id, t.key))) !== generationId) {
          await liveRepository.deleteEntry(db, t.project.id, t.key, generationId);
          return null;
        }
        const left = t.deadline - clock.now().getTime();
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

function liveLockKey(projectId: string, key: string): string {
  return `live:lock:${projectId}:${key}`;
}
