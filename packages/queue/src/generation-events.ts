import type { Redis } from 'ioredis';
import { CONNECT_GRACE_MS, QueueUnavailableError } from './generation.queue.js';
import { waitForRedis } from './redis.js';

/** A status change, published by workers on a Redis channel so any API instance sees it. */
export interface GenerationEvent {
  generationId: string;
  status: string;
}

export function generationChannel(prefix: string, generationId: string): string {
  return `${prefix}:events:generation:${generationId}`;
}

export async function publishGenerationEvent(redis: Redis, prefix: string, event: GenerationEvent): Promise<void> {
  await redis.publish(generationChannel(prefix, event.generationId), JSON.stringify(event));
}

type Listener = (event: GenerationEvent) => void;

/**
 * A down Redis is refused at once by the status check; this only bounds a
 * connection that looks up but does not answer (a loaded host must not turn into 503s).
 */
const SUBSCRIBE_TIMEOUT_MS = 5000;

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('subscribe timed out')), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One subscriber connection per process, fanned out to in-process listeners.
 * Subscribe before reading the row, then wait: no event can slip between the two.
 */
export class GenerationEventHub {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  async subscribe(generationId: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = generationChannel(this.prefix, generationId);
    let set = this.listeners.get(channel);
    if (!set) {
      // Fail fast while Redis is down (the subscriber would otherwise queue the command and
      // hang), after a short grace for a connection that is still coming up.
      await waitForRedis(this.subscriber, CONNECT_GRACE_MS).catch(() => {
        throw new QueueUnavailableError();
      });
      if (this.listeners.has(channel)) return this.subscribe(generationId, listener);
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
        await this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private dispatch(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    let event: GenerationEvent;
    try {
      event = JSON.parse(message) as GenerationEvent;
    } catch {
      return;
    }
    for (const listener of set) listener(event);
  }
}
