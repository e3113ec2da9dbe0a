import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageVariantRepository, type Db, type ImageRow } from '@banatie/db';
import { NotFoundError, RateLimitError, ServiceUnavailableError, VariantLimitError } from './errors.js';
import {
  FORMAT_MIME,
  isVariantRequest,
  planVariant,
  renderVariant,
  variantId,
  variantKeyOf,
  type VariantParams,
  type VariantPlan,
} from './image-variants.js';
import { ObjectNotFoundError, type Clock, type ObjectStorage } from './ports.js';
import type { SharedState } from './queue-port.js';
import { RenderGate } from './render-gate.js';

export interface CdnDeliveryDeps {
  db: Db;
  storage: ObjectStorage;
  shared: SharedState;
  clock: Clock;
  /** Stored variants per image (CDN_VARIANTS_PER_IMAGE). */
  variantsPerImage: number;
  /** Renders at a time in this process (CDN_RENDER_CONCURRENCY). */
  renderConcurrency: number;
  /** Variant misses per client IP and hour (CDN_VARIANT_MISS_PER_IP_PER_HOUR); 0: no limit. */
  variantMissPerIpPerHour: number;
  /** How long a render lock is held at most (a crashed holder's lock expires). */
  renderLockMs?: number;
  /** How long a request waits for another instance's render before 503. */
  renderWaitMs?: number;
}

export interface DeliveredImage {
  data: Buffer;
  mimeType: string;
}

const HOUR_MS = 3_600_000;
/** Queue behind the running renders: short, so a burst is refused rather than held in memory. */
const QUEUED_RENDERS_PER_SLOT = 2;
/** How often a request waiting on another instance's render looks again (it only reads a Redis key). */
const LOCK_POLL_MS = 25;

/**
 * Public delivery of stored images and their renditions (SPEC §6, §11), one per
 * API process. A variant miss is, in order: counted against the client's hourly
 * allowance, checked against the image's variant cap, then rendered once across
 * every instance (a Redis lock per variant; the others wait for the stored
 * object) within this process's render gate.
 */
export class CdnDelivery {
  /** Renders started by this process (tests and metrics). */
  rendersStarted = 0;
  private readonly gate: RenderGate;

  constructor(private readonly deps: CdnDeliveryDeps) {
    this.gate = new RenderGate(deps.renderConcurrency, deps.renderConcurrency * QUEUED_RENDERS_PER_SLOT);
  }

  get renderStats(): { running: number; queued: number } {
    return this.gate.stats;
  }

  /** The original bytes, or the rendition the parameters ask for. */
  async load(image: ImageRow, p: VariantParams, client: { ip: string }): Promise<DeliveredImage> {
    if (!isVariantRequest(p)) return { data: await this.deps.storage.get(image.storage_key), mimeType: image.mime_type };
    const plan = planVariant(image, p);
    const id = variantId(image, plan);
    const key = variantKeyOf(image, id);
    const stored = await this.readStored(key, plan);
    if (stored) return stored;
    await this.countMiss(client.ip);
    await this.checkCap(image.id, id);
    return this.renderOnce(image, plan, id, key);
  }

  private async readStored(key: string, plan: VariantPlan): Promise<DeliveredImage | null> {
    try {
      return { data: await this.deps.storage.get(key), mimeType: FORMAT_MIME[plan.format] };
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return null;
      throw err;
    }
  }

  private async countMiss(ip: string): Promise<void> {
    const limit = this.deps.variantMissPerIpPerHour;
    if (limit === 0) return;
    const now = this.deps.clock.now().getTime();
    const hour = Math.floor(now / HOUR_MS);
    const count = await this.deps.shared.increment(`cdn:variant-miss:${hour}:${ip}`, HOUR_MS);
    if (count > limit) throw new RateLimitError(Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - now) / 1000)));
  }

  /** Cheap refusal before any lock: a new variant of an image at its cap. */
  private async checkCap(imageId: string, id: string): Promise<void> {
    const { total, registered } = await imageVariantRepository.variantCount(this.deps.db, imageId, id);
    if (!registered && total >= this.deps.variantsPerImage) throw new VariantLimitError();
  }

  private async renderOnce(image: ImageRow, plan: VariantPlan, id: string, key: string): Promise<DeliveredImage> {
    const lock = `cdn:render:${image.id}:${id}`;
    const holder = randomUUID();
    const deadline = Date.now() + (this.deps.renderWaitMs ?? 30_000);
    for (;;) {
      if (await this.deps.shared.tryLock(lock, holder, this.deps.renderLockMs ?? 30_000)) {
        try {
          // Double-checked: the previous holder may have stored it just before we took the lock.
          return (await this.readStored(key, plan)) ?? (await this.renderAndStore(image, plan, id, key));
        } finally {
          await this.deps.shared.unlock(lock, holder);
        }
      }
      await this.waitForUnlock(lock, deadline);
      const stored = await this.readStored(key, plan);
      if (stored) return stored;
    }
  }

  private async waitForUnlock(lock: string, deadline: number): Promise<void> {
    while ((await this.deps.shared.lockHolder(lock)) !== null) {
      if (Date.now() >= deadline) throw new ServiceUnavailableError('The image is still being rendered; retry shortly', 2);
      await sleep(LOCK_POLL_MS);
    }
  }

  private async renderAndStore(image: ImageRow, plan: VariantPlan, id: string, key: string): Promise<DeliveredImage> {
    const release = await this.gate.enter();
    try {
      const reservation = await imageVariantRepository.reserveVariant(this.deps.db, image, id, this.deps.variantsPerImage);
      if (reservation === 'limit') throw new VariantLimitError();
      if (reservation === 'image_gone') throw new NotFoundError('Image not found');
      // Regenerated or re-focused while this request ran: a retry renders the new state.
      if (reservation === 'stale') throw new ServiceUnavailableError('The image just changed; retry', 1);
      try {
        this.rendersStarted++;
        const rendered = await renderVariant(await this.deps.storage.get(image.storage_key), image, plan);
        await this.deps.storage.put(key, rendered.data, rendered.mimeType);
        return rendered;
      } catch (err) {
        if (reservation === 'reserved') await imageVariantRepository.releaseVariant(this.deps.db, image.id, id).catch(() => undefined);
        throw err;
      }
    } finally {
      release();
    }
  }
}
