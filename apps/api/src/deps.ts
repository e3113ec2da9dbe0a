import type { Config } from '@banatie/config';
import type { ApiKeyCache, CdnDelivery, Clock, JobQueue, LiveService, ObjectStorage, StatusNotifier, StatusSubscriptions } from '@banatie/core';
import type { Db } from '@banatie/db';
import type { Logger } from '@banatie/logger';
import type { GenerationQueue, StreamSlots, WebhookQueue } from '@banatie/queue';
import type { RedisClient } from '@banatie/queue';

/** Everything the HTTP layer needs, built once by server.ts (or by a test). */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Db;
  /** Fail-fast connection for rate limits, queue producer and publishing. */
  redis: RedisClient;
  /** The queue port the services use. */
  jobs: JobQueue;
  /** The BullMQ queues themselves (producer side): read by /metrics and the queue dashboard. */
  queue: GenerationQueue;
  webhookQueue: WebhookQueue;
  events: StatusSubscriptions;
  storage: ObjectStorage;
  clock: Clock;
  /** After a status change made by the API (cancel): Redis event, webhook. */
  notifier: StatusNotifier;
  /** Live URL cache and single flight (SPEC §7); stateful, one per process. */
  live: LiveService;
  /** Public image delivery and CDN renditions (render gate, single flight); one per process. */
  cdn: CdnDelivery;
  /** Verified API keys in process (absent: every request asks PostgreSQL). */
  keyCache?: ApiKeyCache;
  /** After a key is revoked: drop it from every instance's keyCache. */
  onApiKeyRevoked?: (keyId: string) => Promise<void>;
  /** Open event streams per key, counted across API instances (absent: no limit). */
  streamSlots?: StreamSlots;
  /** Calls `listener` with each key revoked on any instance (this one included); returns the unsubscribe. */
  watchKeyRevocations?: (listener: (keyId: string) => void) => () => void;
  /** The Studio's static build (default: apps/studio/dist). */
  studioDir?: string;
}
