import type { GenerationStatusEvent, StatusBroadcast, StatusListener, StatusSubscriptions } from '@banatie/core';
import type { RedisClient } from './redis.js';
import { CONNECT_GRACE_MS, QueueUnavailableError } from './generation.queue.js';
import { waitForRedis } from './redis.js';

// Status changes travel on Redis channels, so any API instance sees what any worker did.

export function generationChannel(prefix: string, generationId: string): string {
  return `${prefix}:events:generation:${generationId}`;
}

/** Every status change of a project's generations. */
export function projectGenerationsChannel(prefix: string, projectId: string): string {
  return `${prefix}:events:project:${projectId}`;
}

export async function publishGenerationEvent(redis: RedisClient, prefix: string, event: GenerationStatusEvent): Promise<void> {
  const message = JSON.stringify(event);
  if (!event.projectId) {
    await redis.publish(generationChannel(prefix, event.generationId), message);
    return;
  }
  // Both channels in one round trip.
  const results = await redis
    .pipeline()
    .publish(generationChannel(prefix, event.generationId), message)
    .publish(projectGenerationsChannel(prefix, event.projectId), message)
    .exec();
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0];
}

/** The StatusBroadcast port on a (producer) Redis connection. */
export function createStatusBroadcast(redis: RedisClient, prefix: string): StatusBroadcast {
  return { publish: (event) => publishGenerationEvent(redis, prefix, event) };
}

/**
 * A down Redis is refused at once by the status check; this only bounds a
 * connection that looks up but does not answer, inside the 3 s within which a
 * request must get its 503 (SPEC §14).
 */
const SUBSCRIBE_TIMEOUT_MS = 2000;

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('subscribe timed out')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The StatusSubscriptions port: one subscriber connection per process, fanned
 * out to in-process listeners.
 */
export class GenerationEventHub implements StatusSubscriptions {
  private readonly listeners = new Map<string, Set<StatusListener>>();

  constructor(
    private readonly subscriber: RedisClient,
    private readonly prefix: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  /** One generation's status changes; resolves with the unsubscribe function. */
  subscribe(generationId: string, listener: StatusListener): Promise<() => Promise<void>> {
    return this.subscribeChannel(generationChannel(this.prefix, generationId), listener);
  }

  /** Status changes of every generation of a project. */
  subscribeProject(projectId: string, listener: StatusListener): Promise<() => Promise<void>> {
    return this.subscribeChannel(projectGenerationsChannel(this.prefix, projectId), listener);
  }

  private async subscribeChannel(channel: string, listener: StatusListener): Promise<() => Promise<void>> {
    let set = this.listeners.get(channel);
    if (!set) {
      // Fail fast while Redis is down (the subscriber would otherwise queue the command and
      // hang), after a short grace for a connection that is still coming up.
      await waitForRedis(this.subscriber, CONNECT_GRACE_MS).catch(() => {
        throw new QueueUnavailableError();
      });
      if (this.listeners.has(channel)) return this.subscribeChannel(channel, listener);
      set = new Set();
      this.listeners.set(channel, set);
      try {
        await withTimeout(this.subscriber.subscribe(channel), SUBSCRIBE_TIMEOUT_MS);
      } catch (err) {
        if (this.listeners.get(channel) === set && set.size === 0) this.listeners.delete(channel);
        throw new QueueUnavailableError(err);
      }
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(channel);
        // Not awaited: with Redis down the command waits in the offline queue until Redis is back,
        // and a request must not wait with it. Messages for a channel without listeners are dropped.
        this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private dispatch(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    let event: GenerationStatusEvent;
    try {
      event = JSON.parse(message) as GenerationStatusEvent;
    } catch {
      return;
    }
    for (const listener of set) listener(event);
  }
}
